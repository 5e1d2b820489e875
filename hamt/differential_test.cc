// Differential tests: long random sequences of insert / overwrite / erase / find / iterate run on
// hamt::Map and on absl::flat_hash_map, which must agree after every step. Repeated over seeds,
// key ranges and hash functions from good (absl::Hash) to degenerate (constant), with
// check_invariants() at intervals and the size-checking policy catching bad frees and leaks.
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"

namespace {

struct IdentityHash {
  std::size_t operator()(std::int64_t key) const { return static_cast<std::size_t>(key); }
};
struct ConstantHash {
  std::size_t operator()(std::int64_t) const { return 0x9e3779b97f4a7c15u; }
};
// Only the top 12 bits vary: the first 10 levels see one fragment, so chains of single-child
// nodes form, then collisions once more than 4096 keys are live.
struct HighBitsHash {
  std::size_t operator()(std::int64_t key) const { return absl::Hash<std::int64_t>()(key) << 52; }
};
// Only the low 8 bits vary: two bitmap levels, then deep chains down to collision nodes.
struct LowBitsHash {
  std::size_t operator()(std::int64_t key) const {
    return absl::Hash<std::int64_t>()(key) & 0xff;
  }
};

struct Scenario {
  std::uint64_t seed;
  std::int64_t key_range;  // keys are drawn from [0, key_range)
  int steps;
};

template <class Hash>
void RunDifferential(const Scenario& scenario) {
  SCOPED_TRACE("seed " + std::to_string(scenario.seed) + ", key range " +
               std::to_string(scenario.key_range));
  std::mt19937_64 rng(scenario.seed);
  hamt::Map<std::int64_t, std::int64_t, Hash, std::equal_to<std::int64_t>,
            allocators::CheckedSizePolicy<>>
      map;
  absl::flat_hash_map<std::int64_t, std::int64_t> expected;

  auto random_key = [&] { return static_cast<std::int64_t>(rng() % scenario.key_range); };
  for (int step = 0; step < scenario.steps; ++step) {
    const std::int64_t key = random_key();
    const std::int64_t value = static_cast<std::int64_t>(rng());
    // Insert-heavy phases alternate with erase-heavy ones so that the map grows and drains.
    const bool draining = (step / 2000) % 2 == 1;
    switch (rng() % 8) {
      case 0:
      case 1: {
        const auto [slot, inserted] = map.insert_or_assign(key, value);
        const bool expected_inserted = expected.insert_or_assign(key, value).second;
        ASSERT_EQ(inserted, expected_inserted) << "insert_or_assign " << key;
        ASSERT_EQ(*slot, value);
        break;
      }
      case 2: {
        const auto [slot, inserted] = map.try_emplace(key, value);
        const auto [it, expected_inserted] = expected.try_emplace(key, value);
        ASSERT_EQ(inserted, expected_inserted) << "try_emplace " << key;
        ASSERT_EQ(*slot, it->second);
        break;
      }
      case 3:
      case 4:
      case 5:
        if (!draining && rng() % 2 == 0) break;
        ASSERT_EQ(map.erase(key), expected.erase(key) == 1) << "erase " << key;
        break;
      default: {
        const std::int64_t* found = map.find(key);
        const auto it = expected.find(key);
        ASSERT_EQ(found != nullptr, it != expected.end()) << "find " << key;
        if (found != nullptr) {
          ASSERT_EQ(*found, it->second);
        }
        ASSERT_EQ(map.contains(key), found != nullptr);
        break;
      }
    }
    ASSERT_EQ(map.size(), expected.size());
    if (step % 997 == 0 || step == scenario.steps - 1) {
      ASSERT_EQ(map.check_invariants(), "") << "after step " << step;
      std::size_t visited = 0;
      for (const auto& [k, v] : map) {
        const auto it = expected.find(k);
        ASSERT_NE(it, expected.end()) << "iteration yielded absent key " << k;
        ASSERT_EQ(v, it->second);
        ++visited;
      }
      // Distinct keys + equal count: each live entry visited exactly once.
      ASSERT_EQ(visited, expected.size());
    }
  }
  for (const auto& [key, value] : expected) {
    ASSERT_NE(map.find(key), nullptr);
    ASSERT_EQ(*map.find(key), value);
  }
  for (const auto& [key, value] : expected) ASSERT_TRUE(map.erase(key));
  ASSERT_TRUE(map.empty());
  ASSERT_EQ(map.check_invariants(), "");
  ASSERT_EQ(map.allocator().stats().live_bytes, 0u);
}

template <class Hash>
class DifferentialTest : public ::testing::Test {};

using Hashes = ::testing::Types<absl::Hash<std::int64_t>, IdentityHash, ConstantHash, HighBitsHash,
                                LowBitsHash>;
TYPED_TEST_SUITE(DifferentialTest, Hashes);

TYPED_TEST(DifferentialTest, SmallKeyRange) {
  for (std::uint64_t seed : {1, 2, 3}) RunDifferential<TypeParam>({seed, 64, 20000});
}

TYPED_TEST(DifferentialTest, MediumKeyRange) {
  // A constant hash makes every operation linear in the size: keep that one smaller.
  const std::int64_t range = std::is_same_v<TypeParam, ConstantHash> ? 600 : 5000;
  for (std::uint64_t seed : {4, 5, 6}) RunDifferential<TypeParam>({seed, range, 60000});
}

TYPED_TEST(DifferentialTest, LargeKeyRange) {
  if (std::is_same_v<TypeParam, ConstantHash>) GTEST_SKIP() << "quadratic by design";
  RunDifferential<TypeParam>({7, 200000, 200000});
}

}  // namespace
