// Unit tests of hamt::PersistentMap: the interface, versions as values (O(1) copies, old versions
// unchanged), equality, iteration, collisions, non-trivial keys and values, when updates happen in
// place (allocation counts), exception safety and the shared policy.
#include <cstdint>
#include <iterator>
#include <map>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "allocators/counted.h"
#include "allocators/malloc_policy.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"
#include "hamt/internal/persistent_testing.h"
#include "hamt/persistent_map.h"
#include "hamt/refcount.h"
#include "hamt/testing_hashes.h"

namespace {

using CheckedSizePolicy = allocators::CheckedSizePolicy<>;
using hamt::testing::ConstantHash;
using hamt::testing::HighBitsHash;
using hamt::testing::IdentityHash;
using hamt::testing::SplitMixHash;

// Integer keys get a reproducible hash (the same trie shapes in every run).
template <class K, class V,
          class Hash = std::conditional_t<std::is_same_v<K, std::int64_t>, SplitMixHash,
                                          absl::Hash<K>>,
          class Policy = CheckedSizePolicy>
using PMap = hamt::PersistentMap<K, V, Hash, std::equal_to<K>, Policy>;
using IntMap = PMap<std::int64_t, std::int64_t>;
using IdentityMap = PMap<std::int64_t, std::int64_t, IdentityHash>;

static_assert(IntMap::NodeBytes(0, 1) == 16 + 16);  // the header holds the count: 16 bytes
static_assert(IntMap::NodeBytes(3, 2) == 16 + 3 * 8 + 2 * 16);
static_assert(std::is_nothrow_copy_constructible_v<IntMap>);
static_assert(std::is_nothrow_move_constructible_v<IntMap>);
static_assert(std::forward_iterator<IntMap::const_iterator>);
// A version is a root, a size and a lineage pointer; the default policy is not in it.
static_assert(sizeof(hamt::PersistentMap<std::int64_t, std::int64_t>) == 3 * sizeof(void*));

std::uint64_t Allocations(const auto& map) { return map.allocator().stats().allocations; }
std::uint64_t LiveBytes(const auto& map) { return map.allocator().stats().live_bytes; }

// The map's entries, sorted.
template <class Map>
auto Contents(const Map& map) {
  std::set<std::pair<typename Map::key_type, typename Map::mapped_type>> contents;
  for (const auto& [key, value] : map) contents.emplace(key, value);
  return contents;
}

template <class Map>
void ExpectSharingSound(std::initializer_list<const Map*> versions) {
  std::vector<const Map*> list(versions);
  hamt::internal::SharedTotals totals;
  EXPECT_EQ(hamt::internal::CheckSharing(list, &totals), "");
  EXPECT_EQ(totals.node_bytes, LiveBytes(*list.front()));
  for (const Map* version : list) EXPECT_EQ(version->check_invariants(), "");
}

TEST(PersistentMapTest, EmptyMap) {
  IntMap map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.find(1), nullptr);
  EXPECT_FALSE(map.contains(1));
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_EQ(map.erase(1).size(), 0u);
  EXPECT_EQ(map.check_invariants(), "");
  EXPECT_EQ(Allocations(map), 0u);
  EXPECT_EQ(map, IntMap());
  hamt::PersistentMap<std::int64_t, std::int64_t> default_policy;  // malloc, like hamt::Map
  EXPECT_EQ(default_policy.set(1, 2).size(), 1u);
}

TEST(PersistentMapTest, UpdatesReturnNewVersions) {
  const IntMap v0;
  const IntMap v1 = v0.set(7, 49);
  const IntMap v2 = v1.set(8, 64);
  const IntMap v3 = v2.set(7, 50);
  const IntMap v4 = v3.erase(8);
  const IntMap v5 = v4.erase(7);
  EXPECT_EQ(v0.size(), 0u);
  EXPECT_EQ(v1.size(), 1u);
  EXPECT_EQ(*v1.find(7), 49);
  EXPECT_EQ(v1.find(8), nullptr);
  EXPECT_EQ(v2.size(), 2u);
  EXPECT_EQ(*v2.find(7), 49);
  EXPECT_EQ(*v2.find(8), 64);
  EXPECT_EQ(*v3.find(7), 50);
  EXPECT_EQ(*v3.find(8), 64);
  EXPECT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4.find(8), nullptr);
  EXPECT_TRUE(v5.empty());
  EXPECT_EQ(v5.begin(), v5.end());
  ExpectSharingSound<IntMap>({&v0, &v1, &v2, &v3, &v4, &v5});
}

TEST(PersistentMapTest, ManyKeysOldVersionsUnchanged) {
  IntMap map;
  std::vector<IntMap> every_100;
  constexpr std::int64_t kKeys = 5000;
  for (std::int64_t k = 0; k < kKeys; ++k) {
    if (k % 100 == 0) every_100.push_back(map);
    map = map.set(k, k * 3);
  }
  EXPECT_EQ(map.check_invariants(), "");
  for (std::size_t i = 0; i < every_100.size(); ++i) {
    const IntMap& old = every_100[i];
    ASSERT_EQ(old.size(), i * 100);
    for (std::int64_t k = 0; k < kKeys; k += 7) {
      const std::int64_t* v = old.find(k);
      ASSERT_EQ(v != nullptr, k < static_cast<std::int64_t>(i * 100)) << i << " " << k;
      if (v != nullptr) {
        EXPECT_EQ(*v, k * 3);
      }
    }
  }
  for (std::int64_t k = 0; k < kKeys; k += 2) map = map.erase(k);
  EXPECT_EQ(map.size(), static_cast<std::size_t>(kKeys / 2));
  EXPECT_EQ(every_100.back().size(), static_cast<std::size_t>(kKeys - 100));
  for (std::int64_t k = 0; k < kKeys; ++k) EXPECT_EQ(map.contains(k), k % 2 == 1) << k;
  EXPECT_EQ(map.check_invariants(), "");
  every_100.clear();
  map = IntMap(std::move(map));
  EXPECT_EQ(map.size(), static_cast<std::size_t>(kKeys / 2));
}

TEST(PersistentMapTest, CopyIsConstantTimeAndIndependent) {
  IntMap map;
  for (std::int64_t k = 0; k < 10000; ++k) map = std::move(map).set(k, k);
  const std::uint64_t allocations = Allocations(map);
  const std::uint64_t live = LiveBytes(map);
  IntMap copy = map;
  IntMap assigned;
  assigned = copy;
  EXPECT_EQ(Allocations(map), allocations);  // no node was copied
  EXPECT_EQ(LiveBytes(map), live);
  EXPECT_EQ(copy, map);
  EXPECT_EQ(assigned, map);
  copy = copy.set(5, -5);  // shares all but one path
  EXPECT_EQ(*map.find(5), 5);
  EXPECT_EQ(*copy.find(5), -5);
  EXPECT_NE(copy, map);
  ExpectSharingSound<IntMap>({&map, &copy, &assigned});
}

TEST(PersistentMapTest, Equality) {
  IntMap empty;
  IntMap a, b;
  for (std::int64_t k = 0; k < 3000; ++k) a = a.set(k, k);
  for (std::int64_t k = 2999; k >= 0; --k) b = b.set(k, k);  // another lineage, another order
  EXPECT_EQ(a, b);
  EXPECT_NE(a, a.set(17, -1));
  EXPECT_NE(a, a.erase(17));
  EXPECT_EQ(a, a.set(17, 17));  // same contents, another root
  EXPECT_EQ(a.erase(17).set(17, 17), a);
  EXPECT_NE(a, empty);
  EXPECT_EQ(empty, empty.set(1, 1).erase(1));
}

TEST(PersistentMapTest, IterationVisitsEachEntryOnce) {
  IntMap map;
  for (std::int64_t k = 0; k < 5000; ++k) map = std::move(map).set(k * 7919, k);
  const IntMap older = map;
  map = map.erase(0);
  std::set<std::int64_t> seen;
  std::size_t visits = 0;
  for (const auto& [key, value] : older) {
    EXPECT_EQ(key, value * 7919);
    seen.insert(key);
    ++visits;
  }
  EXPECT_EQ(visits, 5000u);
  EXPECT_EQ(seen.size(), 5000u);
  EXPECT_EQ(std::distance(map.begin(), map.end()), 4999);
  auto it = map.begin();
  auto before = it++;
  EXPECT_NE(before, it);
  EXPECT_EQ(before->first, (*map.begin()).first);
}

TEST(PersistentMapTest, EraseToEmptyInEveryOrder) {
  for (int order = 0; order < 3; ++order) {
    IntMap full;
    for (std::int64_t k = 0; k < 2000; ++k) full = full.set(k, k);
    IntMap map = full;
    for (std::int64_t i = 0; i < 2000; ++i) {
      const std::int64_t k = order == 0 ? i : (order == 1 ? 1999 - i : (i * 37) % 2000);
      map = (i % 2 == 0) ? map.erase(k) : std::move(map).erase(k);
      ASSERT_EQ(map.size(), static_cast<std::size_t>(1999 - i));
      ASSERT_FALSE(map.contains(k));
    }
    EXPECT_TRUE(map.empty());
    EXPECT_EQ(map.begin(), map.end());
    EXPECT_EQ(full.size(), 2000u);
    ExpectSharingSound<IntMap>({&full, &map});
    full = map;
    EXPECT_EQ(LiveBytes(map), 0u);
  }
}

// Every key collides (one collision node under a 13-node chain), or only the top bits vary (long
// single-child chains, then collisions): pushes, pull-ups and collision copies across versions.
template <class Hash>
void CollisionsAcrossVersions() {
  using Map = PMap<std::int64_t, std::int64_t, Hash>;
  Map map;
  std::vector<Map> versions;
  for (std::int64_t k = 0; k < 200; ++k) {
    versions.push_back(map);
    map = map.set(k, k);
  }
  for (std::int64_t k = 0; k < 200; k += 3) map = map.erase(k);
  for (std::int64_t k = 0; k < 200; k += 5) map = map.set(k, -k);
  EXPECT_EQ(map.check_invariants(), "");
  for (std::size_t i = 0; i < versions.size(); ++i) {
    ASSERT_EQ(versions[i].size(), i);
    ASSERT_EQ(versions[i].check_invariants(), "");
    for (std::int64_t k = 0; k < 200; ++k) {
      const std::int64_t* v = versions[i].find(k);
      ASSERT_EQ(v != nullptr, k < static_cast<std::int64_t>(i));
      if (v != nullptr) {
        ASSERT_EQ(*v, k);
      }
    }
  }
  for (std::int64_t k = 0; k < 200; ++k) {
    const std::int64_t* v = map.find(k);
    const bool present = k % 3 != 0 || k % 5 == 0;
    ASSERT_EQ(v != nullptr, present) << k;
    if (v != nullptr) {
        EXPECT_EQ(*v, k % 5 == 0 ? -k : k);
      }
  }
  while (!map.empty()) map = std::move(map).erase(map.begin()->first);
  versions.clear();
  EXPECT_EQ(LiveBytes(map), 0u);
}

TEST(PersistentMapTest, ConstantHash) { CollisionsAcrossVersions<ConstantHash>(); }
TEST(PersistentMapTest, HighBitsHash) { CollisionsAcrossVersions<HighBitsHash>(); }

TEST(PersistentMapTest, StringKeysAndValues) {
  using Map = PMap<std::string, std::string>;
  auto key = [](int i) { return "key number " + std::to_string(i) + std::string(20, 'k'); };
  auto value = [](int i, char c) { return "value " + std::to_string(i) + std::string(30, c); };
  Map map;
  for (int i = 0; i < 3000; ++i) map = map.set(key(i), value(i, 'a'));
  const Map before = map;
  for (int i = 0; i < 3000; i += 3) map = std::move(map).erase(key(i));
  for (int i = 1; i < 3000; i += 3) map = map.set(key(i), value(i, 'b'));
  std::string moved_key = key(-1);
  map = std::move(map).set(std::move(moved_key), value(-1, 'c'));
  EXPECT_EQ(map.check_invariants(), "");
  for (int i = 0; i < 3000; ++i) {
    ASSERT_NE(before.find(key(i)), nullptr);
    EXPECT_EQ(*before.find(key(i)), value(i, 'a'));
    const std::string* v = map.find(key(i));
    if (i % 3 == 0) {
      EXPECT_EQ(v, nullptr);
    } else {
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(*v, value(i, i % 3 == 1 ? 'b' : 'a'));
    }
  }
  EXPECT_EQ(*map.find(key(-1)), value(-1, 'c'));
  ExpectSharingSound<Map>({&before, &map});
}

// Counts live instances: every value constructed in a node is destroyed exactly once, whichever
// version drops it last.
struct Counter {
  static inline int live = 0;
  explicit Counter(std::int64_t v) : value(v) { ++live; }
  Counter(const Counter& other) : value(other.value) { ++live; }
  Counter(Counter&& other) noexcept : value(other.value) { ++live; }
  Counter& operator=(const Counter&) = default;
  Counter& operator=(Counter&&) noexcept = default;
  ~Counter() { --live; }
  friend bool operator==(const Counter& a, const Counter& b) { return a.value == b.value; }
  std::int64_t value;
};

TEST(PersistentMapTest, EveryValueDestroyedOnce) {
  Counter::live = 0;
  {
    PMap<std::int64_t, Counter, HighBitsHash> map;
    std::vector<decltype(map)> versions;
    for (std::int64_t k = 0; k < 500; ++k) {
      map = k % 2 ? map.set(k, Counter(k)) : std::move(map).set(k, Counter(k));
      if (k % 50 == 0) versions.push_back(map);
    }
    for (std::int64_t k = 0; k < 500; k += 2) {
      map = k % 4 ? map.erase(k) : std::move(map).erase(k);
      if (k % 40 == 0) versions.push_back(map);
    }
    EXPECT_EQ(map.find(1)->value, 1);
    EXPECT_EQ(map.check_invariants(), "");
    EXPECT_GT(Counter::live, 250);
  }
  EXPECT_EQ(Counter::live, 0);
}

// In place only when unshared: allocation counts. IdentityHash puts key k < 32 in root fragment
// k; key k + 32 shares that fragment, so keys 0..63 make a root of 32 children of 2 entries each.
TEST(PersistentMapTest, InPlaceOnlyWhenUnshared) {
  IdentityMap map;
  for (std::int64_t k = 0; k < 64; ++k) map = std::move(map).set(k, k);
  ASSERT_EQ(map.check_invariants(), "");
  std::uint64_t before = Allocations(map);
  auto allocated = [&] {
    const std::uint64_t now = Allocations(map);
    return now - std::exchange(before, now);
  };
  // The only version: a new value is assigned in place.
  map = std::move(map).set(0, 100);
  EXPECT_EQ(allocated(), 0u);
  // An lvalue update copies the path (root and child) and leaves the source alone.
  const IdentityMap other = map.set(0, 200);
  EXPECT_EQ(allocated(), 2u);
  EXPECT_EQ(*map.find(0), 100);
  EXPECT_EQ(*other.find(0), 200);
  // `other` shares the root's other 31 children, not the root or child 0: in place again.
  map = std::move(map).set(0, 101);
  EXPECT_EQ(allocated(), 0u);
  // Child 1 is shared with `other`: it is copied, the unshared root is patched in place.
  map = std::move(map).set(1, 5);
  EXPECT_EQ(allocated(), 1u);
  EXPECT_EQ(*other.find(1), 1);
  // Child 1 is this version's now.
  map = std::move(map).set(33, 6);
  EXPECT_EQ(allocated(), 0u);
  // A copy shares the root: root and child are copied; the copy keeps the old ones.
  const IdentityMap copy = map;
  map = std::move(map).set(2, 7);
  EXPECT_EQ(allocated(), 2u);
  EXPECT_EQ(*copy.find(2), 2);
  // An insert into an unshared node reallocates that node only (exact sizes), as hamt::Map does;
  // a key that pushes down allocates the new sub-node too.
  map = std::move(map).set(64 + 2, 8);  // fragment 2 then fragment 2 of level 1: a third entry
  EXPECT_EQ(allocated(), 1u);
  map = std::move(map).set(1024 + 3, 9);  // shares fragments 3, 0 with key 3: a deeper node
  EXPECT_EQ(allocated(), 2u);
  // Erasing from an unshared leaf of two pulls the survivor up: the parent is reallocated.
  map = std::move(map).erase(1024 + 3);
  EXPECT_EQ(allocated(), 1u);
  // An lvalue erase copies the path even when nothing else shares it; here the leaf {4, 36}
  // becomes the entry 36 of the root, so the copy of the root is the whole path.
  const IdentityMap erased = map.erase(4);
  EXPECT_EQ(allocated(), 1u);
  EXPECT_EQ(*map.find(4), 4);
  EXPECT_EQ(erased.find(4), nullptr);
  EXPECT_EQ(*erased.find(36), 36);
  ExpectSharingSound<IdentityMap>({&map, &other, &copy, &erased});
}

// A chain of rvalue updates on a version nobody else holds allocates exactly as many blocks as
// hamt::Map's in-place insert_or_assign and erase.
TEST(PersistentMapTest, UnsharedChainAllocatesLikeMap) {
  hamt::Map<std::int64_t, std::int64_t, SplitMixHash, std::equal_to<std::int64_t>,
            CheckedSizePolicy>
      reference;
  IntMap map;
  std::uint64_t seed = 5;
  for (int step = 0; step < 20000; ++step) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    const auto key = static_cast<std::int64_t>((seed >> 33) % 3000);
    if ((seed >> 20) % 3 == 0) {
      reference.erase(key);
      map = std::move(map).erase(key);
    } else {
      reference.insert_or_assign(key, step);
      map = std::move(map).set(key, step);
    }
    ASSERT_EQ(Allocations(map), reference.allocator().stats().allocations) << step;
  }
  EXPECT_EQ(map.size(), reference.size());
  EXPECT_EQ(map.check_invariants(), "");
}

TEST(PersistentMapTest, RvalueUpdateLeavesSourceEmptyAndUsable) {
  IntMap a;
  a = a.set(1, 1).set(2, 2);
  IntMap b = std::move(a).set(3, 3);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): empty by contract
  EXPECT_EQ(b.size(), 3u);
  a = a.set(4, 4);  // still of the lineage
  EXPECT_EQ(a.size(), 1u);
  IntMap c = std::move(b).erase(1);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.size(), 2u);
  IntMap d = std::move(c).erase(42);  // absent: the root changes hands
  EXPECT_TRUE(c.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(d.size(), 2u);
  IntMap e(std::move(d));
  EXPECT_TRUE(d.empty());  // NOLINT(bugprone-use-after-move)
  d = d.set(9, 9);
  ExpectSharingSound<IntMap>({&a, &b, &c, &d, &e});
}

// Every version of a lineage allocates from one policy instance, and moving between lineages
// returns nodes to their own.
TEST(PersistentMapTest, OnePolicyPerLineage) {
  IntMap a;
  IntMap b;
  const IntMap a1 = a.set(1, 1);
  const IntMap a2 = a1.set(2, 2);
  EXPECT_EQ(&a.allocator(), &a2.allocator());
  EXPECT_NE(&a.allocator(), &b.allocator());
  EXPECT_EQ(LiveBytes(a), IntMap::NodeBytes(0, 1) + IntMap::NodeBytes(0, 2));
  b = a2;  // b's former lineage (empty) goes; b is of a's now
  EXPECT_EQ(&b.allocator(), &a.allocator());
  IntMap c;
  c = c.set(5, 5);
  const std::uint64_t c_live = LiveBytes(c);
  IntMap c_copy = c;
  c = std::move(b);  // c's nodes stay alive in c_copy, with c's old policy
  EXPECT_EQ(LiveBytes(c_copy), c_live);
  EXPECT_EQ(&c.allocator(), &a.allocator());
}

using FailingPolicy = allocators::FaultInjecting<CheckedSizePolicy>;

// "" when `map` holds exactly `model`'s entries, by iteration and by find, and its trie is sound;
// else the first difference.
template <class Map>
std::string Mismatch(const Map& map,
                     const std::map<typename Map::key_type, typename Map::mapped_type>& model) {
  if (map.size() != model.size()) {
    return "size " + std::to_string(map.size()) + ", expected " + std::to_string(model.size());
  }
  std::map<typename Map::key_type, typename Map::mapped_type> iterated;
  for (const auto& [key, value] : map) {
    if (!iterated.emplace(key, value).second) return "key " + std::to_string(key) + " twice";
  }
  if (iterated != model) return "the entries differ";
  for (const auto& [key, value] : model) {
    const auto* found = map.find(key);
    if (found == nullptr || !(*found == value)) return "find(" + std::to_string(key) + ")";
  }
  return map.check_invariants();
}

// Arms `map`'s policy to fail the allocation after `fail_at` more, runs `update` and disarms.
// Returns whether the failure fired (then `update` must have thrown std::bad_alloc).
template <class Map, class Update>
bool FailsAt(const Map& map, int fail_at, Update update) {
  map.allocator().arm_failure(fail_at);
  bool threw = false;
  try {
    update();
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  const bool fired = map.allocator().take_fired();
  map.allocator().arm_failure(-1);
  EXPECT_EQ(threw, fired) << fail_at;
  return fired;
}

// Lvalue updates of a version that others share: every allocation of each update in turn fails,
// and every version must still hold what it held (compared entry by entry with its std::map, not
// with operator==, which is O(1) on a shared root), with no byte leaked.
template <class Hash>
void AllocationFailureLeavesVersionsUnchanged(std::int64_t keys) {
  using Map = PMap<std::int64_t, std::string, Hash, FailingPolicy>;
  using Model = std::map<std::int64_t, std::string>;
  std::vector<Map> versions(1);
  std::vector<Model> models(1);
  for (std::int64_t k = 0; k < keys; ++k) {
    models.push_back(models.back());
    models.back()[k] = std::to_string(k);
    versions.push_back(versions.back().set(k, std::to_string(k)));
  }
  // Every tenth version stays; the newest is updated.
  for (std::size_t i = versions.size() - 1; i-- > 0;) {
    if (i % static_cast<std::size_t>(keys / 10) != 0) {
      versions.erase(versions.begin() + static_cast<std::ptrdiff_t>(i));
      models.erase(models.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  const Map& map = versions.back();
  int failures = 0;
  for (std::int64_t k = 0; k < 200; ++k) {
    const int op = static_cast<int>(k % 3);
    for (int fail_at = 0;; ++fail_at) {
      const std::uint64_t bytes = LiveBytes(map);
      const bool fired = FailsAt(map, fail_at, [&] {
        switch (op) {
          case 0: return map.set(keys + k, "new");
          case 1: return map.set(k % keys, "assigned");
          default: return map.erase(k % keys);
        }
      });
      if (!fired) break;
      ++failures;
      ASSERT_EQ(LiveBytes(map), bytes) << k << " " << fail_at;
      for (std::size_t v = 0; v < versions.size(); ++v) {
        ASSERT_EQ(Mismatch(versions[v], models[v]), "") << k << " " << fail_at << " " << v;
      }
    }
  }
  // Each of the 200 updates copies at least one node.
  EXPECT_GE(failures, 200);
}

TEST(PersistentMapTest, AllocationFailureLeavesVersionsUnchanged) {
  AllocationFailureLeavesVersionsUnchanged<SplitMixHash>(300);
}
// One collision node under a chain of 13: every update copies 14 nodes.
TEST(PersistentMapTest, AllocationFailureInCollisionsLeavesVersionsUnchanged) {
  AllocationFailureLeavesVersionsUnchanged<ConstantHash>(40);
}

// Rvalue updates of a version whose root only it holds, while another version shares its
// subtrees: the in-place path (the root is edited, shared children copied, a survivor pulled up
// into an edited parent). Every allocation of each update in turn fails: the updated version
// keeps its root and contents, the sharing version is untouched, no byte leaks.
template <class Hash>
void AllocationFailureInPlaceLeavesVersionsUnchanged() {
  using Map = PMap<std::int64_t, std::string, Hash, FailingPolicy>;
  using Model = std::map<std::int64_t, std::string>;
  Map map;
  Model model;
  for (std::int64_t k = 0; k < 400; ++k) {
    map = std::move(map).set(k, std::to_string(k));
    model[k] = std::to_string(k);
  }
  std::uint64_t seed = 11;
  int failures = 0;
  for (int step = 0; step < 600; ++step) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    const auto key = static_cast<std::int64_t>((seed >> 33) % 600);
    const unsigned op = static_cast<unsigned>((seed >> 20) % 3);
    // `other` copies the path to its key: it shares every other subtree of `map`, whose root
    // stays map's alone.
    const std::int64_t other_key = static_cast<std::int64_t>((seed >> 45) % 600);
    const Map other = map.set(other_key, "other");
    Model other_model = model;
    other_model[other_key] = "other";
    for (int fail_at = 0;; ++fail_at) {
      const std::uint64_t bytes = LiveBytes(map);
      const bool fired = FailsAt(map, fail_at, [&] {
        switch (op) {
          case 0: map = std::move(map).set(key, "set " + std::to_string(step)); break;
          case 1: map = std::move(map).set(key + 600, "inserted"); break;
          default: map = std::move(map).erase(key); break;
        }
      });
      if (!fired) break;
      ++failures;
      ASSERT_EQ(LiveBytes(map), bytes) << step << " " << fail_at;
      ASSERT_EQ(Mismatch(map, model), "") << step << " " << fail_at;
      ASSERT_EQ(Mismatch(other, other_model), "") << step << " " << fail_at;
      ExpectSharingSound<Map>({&map, &other});
    }
    switch (op) {
      case 0: model[key] = "set " + std::to_string(step); break;
      case 1: model[key + 600] = "inserted"; break;
      default: model.erase(key); break;
    }
    ASSERT_EQ(Mismatch(map, model), "") << step;
  }
  // Most updates copy a shared node on their path (about 700 failures in all).
  EXPECT_GE(failures, 300);
}

TEST(PersistentMapTest, AllocationFailureInPlaceLeavesVersionsUnchanged) {
  AllocationFailureInPlaceLeavesVersionsUnchanged<SplitMixHash>();
}
TEST(PersistentMapTest, AllocationFailureInPlaceInCollisionsLeavesVersionsUnchanged) {
  AllocationFailureInPlaceLeavesVersionsUnchanged<hamt::testing::SplitMixLow16Hash>();
}

// Copying a value throws on demand: a shared node's copy must not leak or change anything.
struct ThrowingCopy {
  static inline int copies_left = -1;  // -1: never throw
  explicit ThrowingCopy(int v) : value(v) {}
  ThrowingCopy(const ThrowingCopy& other) : value(other.value) {
    if (copies_left == 0) throw std::runtime_error("copy");
    if (copies_left > 0) --copies_left;
  }
  ThrowingCopy(ThrowingCopy&&) noexcept = default;
  ThrowingCopy& operator=(const ThrowingCopy&) = default;
  int value;
};

TEST(PersistentMapTest, ThrowingCopyLeavesVersionsUnchanged) {
  using Map = PMap<std::int64_t, ThrowingCopy, HighBitsHash>;
  Map map;
  for (std::int64_t k = 0; k < 200; ++k) map = std::move(map).set(k, ThrowingCopy(int(k)));
  for (int copies = 0; copies < 40; ++copies) {
    const std::uint64_t bytes = LiveBytes(map);
    ThrowingCopy::copies_left = copies;
    try {
      Map result = (copies % 2) ? map.set(copies + 1000, ThrowingCopy(1)) : map.erase(copies);
    } catch (const std::runtime_error&) {
    }
    ThrowingCopy::copies_left = -1;
    ASSERT_EQ(LiveBytes(map), bytes) << copies;
    ASSERT_EQ(map.size(), 200u);
    ASSERT_EQ(map.check_invariants(), "");
    for (std::int64_t k = 0; k < 200; ++k) ASSERT_EQ(map.find(k)->value, k);
  }
}

// AtomicRefcount: two threads update copies of one base, the same keys in both, so they copy
// and release the same shared nodes at once; the base is dropped while they run, so the last
// reference to a shared node goes on either thread. The process's malloc is thread-safe; the
// uncounted policy has no counters to race on.
TEST(PersistentMapTest, AtomicRefcountAcrossThreads) {
  using Map = hamt::PersistentMap<std::int64_t, std::int64_t, SplitMixHash,
                                  std::equal_to<std::int64_t>,
                                  allocators::Uncounted<allocators::MallocBackend>,
                                  hamt::AtomicRefcount>;
  Map base;
  for (std::int64_t k = 0; k < 2000; ++k) base = std::move(base).set(k, k);
  std::vector<Map> results(2);
  auto work = [&results](Map mine, int id) {
    for (std::int64_t k = 0; k < 2000; ++k) {
      mine = k % 3 == 0 ? std::move(mine).erase(k) : std::move(mine).set(k, k + 100 * (id + 1));
    }
    results[id] = std::move(mine);
  };
  // std::thread copies `base` on this thread, before the workers start.
  std::thread t0(work, base, 0), t1(work, base, 1);
  base = Map();
  t0.join();
  t1.join();
  for (int id = 0; id < 2; ++id) {
    const Map& result = results[id];
    EXPECT_EQ(result.size(), 2000u - 667u) << id;
    EXPECT_EQ(result.check_invariants(), "") << id;
    for (std::int64_t k = 0; k < 2000; ++k) {
      const std::int64_t* found = result.find(k);
      if (k % 3 == 0) {
        ASSERT_EQ(found, nullptr) << id << " " << k;
      } else {
        ASSERT_NE(found, nullptr) << id << " " << k;
        ASSERT_EQ(*found, k + 100 * (id + 1)) << id << " " << k;
      }
    }
  }
}

}  // namespace
