// Differential tests: long random sequences of insert / overwrite / erase / find / iterate run on
// hamt::Map and on absl::flat_hash_map, which must agree after every step. Repeated over seeds,
// key ranges and hash functions from good (absl::Hash) to degenerate (constant), with
// check_invariants() at intervals and the size-checking policy catching bad frees and leaks; for
// exactly sized nodes (the default) and for nodes rounded up to size classes, which grow and
// shrink in place (hamt/node_sizing.h).
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"
#include "hamt/testing_hashes.h"

namespace {

using hamt::testing::ConstantHash;
using hamt::testing::HighBitsHash;
using hamt::testing::IdentityHash;
using hamt::testing::LowBitsHash;

struct Scenario {
  std::uint64_t seed;
  std::int64_t key_range;  // keys are drawn from [0, key_range)
  int steps;
};

template <class Hash, class Sizing>
void RunDifferential(const Scenario& scenario) {
  SCOPED_TRACE("seed " + std::to_string(scenario.seed) + ", key range " +
               std::to_string(scenario.key_range));
  std::mt19937_64 rng(scenario.seed);
  hamt::Map<std::int64_t, std::int64_t, Hash, std::equal_to<std::int64_t>,
            allocators::CheckedSizePolicy<>, Sizing>
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

template <class H, class S = hamt::ExactNodes>
struct Config {
  using Hash = H;
  using Sizing = S;
};

template <class C>
class DifferentialTest : public ::testing::Test {};

using Configs =
    ::testing::Types<Config<absl::Hash<std::int64_t>>, Config<IdentityHash>, Config<ConstantHash>,
                     Config<HighBitsHash>, Config<LowBitsHash>,
                     Config<absl::Hash<std::int64_t>, hamt::RoundedNodes<1>>,
                     Config<absl::Hash<std::int64_t>, hamt::RoundedNodes<4>>,
                     Config<HighBitsHash, hamt::RoundedNodes<1>>,
                     Config<LowBitsHash, hamt::RoundedNodes<4>>>;
TYPED_TEST_SUITE(DifferentialTest, Configs);

template <class C>
void Run(const Scenario& scenario) {
  RunDifferential<typename C::Hash, typename C::Sizing>(scenario);
}
template <class C>
constexpr bool kConstantHash = std::is_same_v<typename C::Hash, ConstantHash>;

TYPED_TEST(DifferentialTest, SmallKeyRange) {
  for (std::uint64_t seed : {1, 2, 3}) Run<TypeParam>({seed, 64, 20000});
}

TYPED_TEST(DifferentialTest, MediumKeyRange) {
  // A constant hash makes every operation linear in the size: keep that one smaller.
  const std::int64_t range = kConstantHash<TypeParam> ? 600 : 5000;
  for (std::uint64_t seed : {4, 5, 6}) Run<TypeParam>({seed, range, 60000});
}

TYPED_TEST(DifferentialTest, LargeKeyRange) {
  if (kConstantHash<TypeParam>) GTEST_SKIP() << "quadratic by design";
  Run<TypeParam>({7, 200000, 200000});
}

}  // namespace
