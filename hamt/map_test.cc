// Unit tests of hamt::Map's interface: lookups, overwrite, erase, iteration, move, lifetimes of
// non-trivial keys and values, allocation sizes, canonical shape and exception safety.
#include <cstdint>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"
#include "hamt/testing_hashes.h"

namespace {

using CheckedSizePolicy = allocators::CheckedSizePolicy<>;
using FailingPolicy = allocators::FaultInjecting<CheckedSizePolicy>;

template <class K, class V, class Hash = absl::Hash<K>>
using CheckedMap = hamt::Map<K, V, Hash, std::equal_to<K>, CheckedSizePolicy>;
using IntMap = CheckedMap<std::int64_t, std::int64_t>;

static_assert(IntMap::NodeBytes(0, 1) == 8 + 16);
static_assert(IntMap::NodeBytes(3, 2) == 8 + 3 * 8 + 2 * 16);
static_assert(!std::is_copy_constructible_v<IntMap>);
static_assert(std::is_nothrow_move_constructible_v<IntMap>);
static_assert(sizeof(hamt::Map<std::int64_t, std::int64_t>) ==
              sizeof(void*) + sizeof(std::size_t) + sizeof(allocators::MallocPolicy));

TEST(MapTest, EmptyMap) {
  IntMap map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.find(1), nullptr);
  EXPECT_FALSE(map.contains(1));
  EXPECT_FALSE(map.erase(1));
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_EQ(map.check_invariants(), "");
  EXPECT_EQ(map.allocator().stats().allocations, 0u);
}

TEST(MapTest, InsertFindOverwriteErase) {
  IntMap map;
  auto [value, inserted] = map.insert_or_assign(7, 49);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*value, 49);
  std::tie(value, inserted) = map.insert_or_assign(7, 50);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*value, 50);
  std::tie(value, inserted) = map.try_emplace(7, 51);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*value, 50);
  std::tie(value, inserted) = map.try_emplace(8, 64);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*value, 64);
  EXPECT_EQ(map.size(), 2u);
  ASSERT_NE(map.find(7), nullptr);
  EXPECT_EQ(*map.find(7), 50);
  *map.find(7) = 1;
  EXPECT_EQ(*std::as_const(map).find(7), 1);
  EXPECT_TRUE(map.erase(7));
  EXPECT_FALSE(map.erase(7));
  EXPECT_EQ(map.find(7), nullptr);
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.check_invariants(), "");
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.allocator().stats().live_bytes, 0u);
}

TEST(MapTest, TryEmplaceLeavesArgumentsAloneWhenPresent) {
  CheckedMap<std::int64_t, std::unique_ptr<int>> map;
  map.try_emplace(1, std::make_unique<int>(1));
  auto second = std::make_unique<int>(2);
  EXPECT_FALSE(map.try_emplace(1, std::move(second)).second);
  EXPECT_NE(second, nullptr);
  EXPECT_EQ(**map.find(1), 1);
}

TEST(MapTest, ManyKeysWithInvariants) {
  IntMap map;
  constexpr std::int64_t kKeys = 20000;
  for (std::int64_t k = 0; k < kKeys; ++k) ASSERT_TRUE(map.insert_or_assign(k, k * 3).second);
  EXPECT_EQ(map.check_invariants(), "");
  for (std::int64_t k = 0; k < kKeys; ++k) {
    ASSERT_NE(map.find(k), nullptr) << k;
    EXPECT_EQ(*map.find(k), k * 3);
  }
  EXPECT_EQ(map.find(kKeys), nullptr);
  for (std::int64_t k = 0; k < kKeys; k += 2) ASSERT_TRUE(map.erase(k));
  EXPECT_EQ(map.check_invariants(), "");
  EXPECT_EQ(map.size(), static_cast<std::size_t>(kKeys / 2));
  for (std::int64_t k = 0; k < kKeys; ++k) EXPECT_EQ(map.contains(k), k % 2 == 1) << k;
  for (std::int64_t k = 1; k < kKeys; k += 2) ASSERT_TRUE(map.erase(k));
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.check_invariants(), "");
  EXPECT_EQ(map.allocator().stats().live_bytes, 0u);
}

TEST(MapTest, IterationVisitsEachEntryOnce) {
  IntMap map;
  for (std::int64_t k = 0; k < 5000; ++k) map.insert_or_assign(k * 7919, k);
  std::set<std::int64_t> seen;
  std::size_t visits = 0;
  for (const auto& [key, value] : map) {
    EXPECT_EQ(key, value * 7919);
    seen.insert(key);
    ++visits;
  }
  EXPECT_EQ(visits, map.size());
  EXPECT_EQ(seen.size(), map.size());
  EXPECT_EQ(std::distance(map.begin(), map.end()), 5000);
  auto it = map.begin();
  auto before = it++;
  EXPECT_NE(before, it);
  EXPECT_EQ(before->first, (*map.begin()).first);
}

// Entries that are not trivially copyable: moved one by one between and within nodes.
template <class Sizing>
void StringKeysAndValues() {
  hamt::Map<std::string, std::string, absl::Hash<std::string>, std::equal_to<std::string>,
            CheckedSizePolicy, Sizing>
      map;
  for (int i = 0; i < 3000; ++i) {
    // Long enough to defeat the small-string buffer, so a leak or double free would show.
    map.try_emplace("key number " + std::to_string(i) + std::string(20, 'k'),
                    "value " + std::to_string(i) + std::string(30, 'v'));
  }
  EXPECT_EQ(map.check_invariants(), "");
  for (int i = 0; i < 3000; i += 3) {
    EXPECT_TRUE(map.erase("key number " + std::to_string(i) + std::string(20, 'k')));
  }
  for (int i = 0; i < 3000; ++i) {
    const std::string* value = map.find("key number " + std::to_string(i) + std::string(20, 'k'));
    if (i % 3 == 0) {
      EXPECT_EQ(value, nullptr);
    } else {
      ASSERT_NE(value, nullptr);
      EXPECT_EQ(*value, "value " + std::to_string(i) + std::string(30, 'v'));
    }
  }
  std::size_t visits = 0;
  for (const auto& [key, value] : map) {
    EXPECT_EQ(key.substr(0, 11), "key number ");
    EXPECT_EQ(value.substr(0, 6), "value ");
    ++visits;
  }
  EXPECT_EQ(visits, 2000u);
  EXPECT_EQ(map.check_invariants(), "");
}

TEST(MapTest, StringKeysAndValues) { StringKeysAndValues<hamt::ExactNodes>(); }
// Most inserts and erases here move entries within their node (in place).
TEST(MapTest, StringKeysAndValuesInRoundedNodes) { StringKeysAndValues<hamt::RoundedNodes<1>>(); }

// Counts every construction, copy, move and destruction, to prove that the map moves and never
// copies, and destroys every element it constructed.
struct Tracked {
  static inline int live = 0;
  static inline int copies = 0;

  explicit Tracked(std::int64_t v) : value(v) { ++live; }
  Tracked(const Tracked& other) : value(other.value) {
    ++live;
    ++copies;
  }
  Tracked(Tracked&& other) noexcept : value(other.value) { ++live; }
  Tracked& operator=(const Tracked& other) {
    value = other.value;
    ++copies;
    return *this;
  }
  Tracked& operator=(Tracked&& other) noexcept {
    value = other.value;
    return *this;
  }
  ~Tracked() { --live; }
  friend bool operator==(const Tracked& a, const Tracked& b) { return a.value == b.value; }

  std::int64_t value;
};

// Low bits only, so that collision nodes are exercised too.
struct TrackedHash {
  std::size_t operator()(const Tracked& t) const { return static_cast<std::size_t>(t.value % 97); }
};

TEST(MapTest, MovesNeverCopiesAndDestroysEverything) {
  Tracked::live = 0;
  Tracked::copies = 0;
  {
    CheckedMap<Tracked, Tracked, TrackedHash> map;
    for (std::int64_t i = 0; i < 2000; ++i) {
      ASSERT_TRUE(map.try_emplace(Tracked(i), i * 2).second);
      ASSERT_TRUE(map.insert_or_assign(Tracked(i + 100000), Tracked(i)).second);
    }
    for (std::int64_t i = 0; i < 2000; ++i) map.insert_or_assign(Tracked(i), Tracked(-i));
    EXPECT_EQ(Tracked::live, 2 * 4000);
    EXPECT_EQ(map.check_invariants(), "");
    for (std::int64_t i = 0; i < 2000; i += 2) ASSERT_TRUE(map.erase(Tracked(i)));
    EXPECT_EQ(Tracked::live, 2 * 3000);
    EXPECT_EQ(map.find(Tracked(1))->value, -1);
    auto moved = std::move(map);
    EXPECT_EQ(Tracked::live, 2 * 3000);
    EXPECT_EQ(moved.size(), 3000u);
  }
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(Tracked::copies, 0);
}

TEST(MapTest, MoveConstructionAndAssignment) {
  IntMap a;
  for (std::int64_t k = 0; k < 1000; ++k) a.insert_or_assign(k, k);
  const std::uint64_t live = a.allocator().stats().live_bytes;
  IntMap b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(a.begin(), a.end());
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.allocator().stats().live_bytes, live);
  IntMap c;
  c.insert_or_assign(-1, -1);
  c = std::move(b);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_FALSE(c.contains(-1));
  EXPECT_EQ(*c.find(999), 999);
  EXPECT_EQ(c.check_invariants(), "");
  a.insert_or_assign(5, 5);  // a moved-from map is usable
  EXPECT_EQ(a.size(), 1u);
}

TEST(MapTest, LiveBytesMatchNodeSizes) {
  IntMap map;
  map.insert_or_assign(1, 1);
  EXPECT_EQ(map.allocator().stats().live_bytes, IntMap::NodeBytes(0, 1));
  EXPECT_EQ(map.allocator().live_blocks(), 1u);
}

// Canonical form: the trie depends only on the key set, so a map that reached a set through
// inserts and erases has the same iteration order and the same node bytes as one built directly.
TEST(MapTest, ShapeDependsOnlyOnKeySet) {
  std::mt19937_64 rng(3);
  IntMap churned;
  std::set<std::int64_t> keys;
  for (int step = 0; step < 30000; ++step) {
    const std::int64_t key = static_cast<std::int64_t>(rng() % 3000);
    if (rng() % 3 == 0) {
      churned.erase(key);
      keys.erase(key);
    } else {
      churned.insert_or_assign(key, key);
      keys.insert(key);
    }
  }
  IntMap direct;
  for (std::int64_t key : keys) direct.insert_or_assign(key, key);
  EXPECT_EQ(churned.check_invariants(), "");
  EXPECT_EQ(churned.allocator().stats().live_bytes, direct.allocator().stats().live_bytes);
  std::vector<std::int64_t> churned_order, direct_order;
  for (const auto& [key, value] : churned) churned_order.push_back(key);
  for (const auto& [key, value] : direct) direct_order.push_back(key);
  EXPECT_EQ(churned_order, direct_order);
}

using hamt::testing::ConstantHash;

// Every allocation in turn fails; the map must be unchanged after each failed operation.
TEST(MapTest, AllocationFailureLeavesMapUnchanged) {
  for (bool constant_hash : {false, true}) {
    auto run = [&](auto map) {
      for (std::int64_t k = 0; k < 300; ++k) map.insert_or_assign(k, k);
      for (std::int64_t k = 0; k < 600; ++k) {
        const std::size_t size_before = map.size();
        const std::uint64_t bytes_before = map.allocator().stats().live_bytes;
        map.allocator().arm_failure(0);
        const bool erase = k % 2 == 0;
        EXPECT_THROW(erase ? (void)map.erase(k / 2) : (void)map.insert_or_assign(300 + k, k),
                     std::bad_alloc);
        map.allocator().arm_failure(-1);
        ASSERT_EQ(map.size(), size_before);
        ASSERT_EQ(map.allocator().stats().live_bytes, bytes_before);
        ASSERT_EQ(map.check_invariants(), "");
        ASSERT_TRUE(map.contains(k / 2));
      }
      // The same operations, now allowed to allocate.
      for (std::int64_t k = 0; k < 600; k += 2) EXPECT_TRUE(map.erase(k / 2));
      EXPECT_TRUE(map.empty());
    };
    if (constant_hash) {
      run(hamt::Map<std::int64_t, std::int64_t, ConstantHash, std::equal_to<std::int64_t>,
                    FailingPolicy>(ConstantHash(), {}, FailingPolicy()));
    } else {
      run(hamt::Map<std::int64_t, std::int64_t, absl::Hash<std::int64_t>,
                    std::equal_to<std::int64_t>, FailingPolicy>(FailingPolicy()));
    }
  }
}

struct ThrowsOnNegative {
  explicit ThrowsOnNegative(int v) : value(v) {
    if (v < 0) throw std::runtime_error("negative");
  }
  int value;
};

template <class Sizing>
void ThrowingValueConstructorLeavesMapUnchanged() {
  hamt::Map<std::int64_t, ThrowsOnNegative, absl::Hash<std::int64_t>, std::equal_to<std::int64_t>,
            CheckedSizePolicy, Sizing>
      map;
  for (std::int64_t k = 0; k < 500; ++k) map.try_emplace(k, static_cast<int>(k));
  const std::uint64_t bytes_before = map.allocator().stats().live_bytes;
  for (std::int64_t k = 0; k < 1000; ++k) {
    EXPECT_THROW(map.try_emplace(k + 500, -1), std::runtime_error);
  }
  EXPECT_EQ(map.size(), 500u);
  EXPECT_EQ(map.allocator().stats().live_bytes, bytes_before);
  EXPECT_EQ(map.check_invariants(), "");
  for (std::int64_t k = 0; k < 500; ++k) {
    const ThrowsOnNegative* v = map.find(k);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->value, k);
  }
}

TEST(MapTest, ThrowingValueConstructorLeavesMapUnchanged) {
  ThrowingValueConstructorLeavesMapUnchanged<hamt::ExactNodes>();
}
// Here most failed inserts would have grown their node in place.
TEST(MapTest, ThrowingValueConstructorLeavesRoundedNodesUnchanged) {
  ThrowingValueConstructorLeavesMapUnchanged<hamt::RoundedNodes<1>>();
}

TEST(MapTest, RoundedNodesGrowInPlace) {
  // One node: entries 1..8 need 24..136 bytes; powers of two allocate at 32, 64, 128 and 256
  // bytes only, so 8 inserts make 4 allocations (and free 3), where exact nodes make 8 (free 7).
  hamt::Map<std::int64_t, std::int64_t, hamt::testing::IdentityHash, std::equal_to<std::int64_t>,
            CheckedSizePolicy, hamt::RoundedNodes<1>>
      rounded;
  CheckedMap<std::int64_t, std::int64_t, hamt::testing::IdentityHash> exact;
  for (std::int64_t k = 0; k < 8; ++k) {  // fragments 0..7 of the root: never a sub-node
    rounded.try_emplace(k, k);
    exact.try_emplace(k, k);
  }
  EXPECT_EQ(rounded.allocator().stats().allocations, 4u);
  EXPECT_EQ(exact.allocator().stats().allocations, 8u);
  EXPECT_EQ(rounded.allocator().stats().live_bytes, 256u);
  EXPECT_EQ(exact.allocator().stats().live_bytes, 8u + 8 * 16);
  for (std::int64_t k = 0; k < 8; ++k) EXPECT_EQ(*rounded.find(k), k);
  // The first erase (7 entries, 120 bytes) moves to the 128-byte class; down to 4 entries
  // (72 bytes) the next three shrink in place.
  for (std::int64_t k = 0; k < 4; ++k) EXPECT_TRUE(rounded.erase(k));
  EXPECT_EQ(rounded.allocator().stats().allocations, 5u);
  EXPECT_EQ(rounded.allocator().stats().live_bytes, 128u);
  EXPECT_EQ(rounded.check_invariants(), "");
}

TEST(MapTest, RoundedNodesShiftEntriesInPlace) {
  // Descending keys: every in-place insert goes in front of all the node's entries, so each one
  // moves them all up; erasing from the front moves them back down.
  hamt::Map<std::int64_t, std::int64_t, hamt::testing::IdentityHash, std::equal_to<std::int64_t>,
            CheckedSizePolicy, hamt::RoundedNodes<1>>
      map;
  for (std::int64_t k = 31; k >= 0; --k) {
    map.try_emplace(k, 100 + k);
    for (std::int64_t j = k; j < 32; ++j) ASSERT_EQ(*map.find(j), 100 + j) << "after " << k;
  }
  EXPECT_EQ(map.allocator().stats().allocations, 6u);  // 32, 64, 128, 256, 512 and 1024 bytes
  for (std::int64_t k = 0; k < 30; ++k) {
    ASSERT_TRUE(map.erase(k));
    for (std::int64_t j = k + 1; j < 32; ++j) ASSERT_EQ(*map.find(j), 100 + j) << "after " << k;
  }
  EXPECT_EQ(map.check_invariants(), "");
}

TEST(MapTest, RoundedNodesReadAValueFromTheirOwnNode) {
  // Keys 0..31 all live in the root (IdentityHash): each new entry's value refers to an entry of
  // the very node that grows in place, and must be read before the entries move.
  hamt::Map<std::int64_t, std::string, hamt::testing::IdentityHash, std::equal_to<std::int64_t>,
            CheckedSizePolicy, hamt::RoundedNodes<1>>
      map;
  const std::string first = "the value of key 31, long enough to live on the heap";
  map.try_emplace(31, first);
  for (std::int64_t k = 30; k >= 0; --k) {
    const std::string& inside = *map.find(k + 1);  // moves up when key k goes in front of it
    const auto [value, inserted] = map.try_emplace(k, inside);
    ASSERT_TRUE(inserted);
    ASSERT_EQ(*value, first) << k;
  }
  for (std::int64_t k = 0; k < 32; ++k) EXPECT_EQ(*map.find(k), first);
  EXPECT_EQ(map.check_invariants(), "");
}

}  // namespace
