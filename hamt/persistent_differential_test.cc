// Differential tests of hamt::PersistentMap against std::map snapshots, one per retained version:
// random updates (set of a new or present key, erase of a present or absent key) derive new
// versions from retained ones, versions are dropped in the orders that three retention patterns
// give, and after every step every retained version must still read exactly its own snapshot.
//
//   newest      keep only the newest version (updates through rvalues or copies at random), so
//               each update frees the path it replaced;
//   last H      keep the last H versions, dropped first-in first-out;
//   random      keep a random subset; each update starts from a random retained version and a
//               random one is dropped, so nodes are freed in a fragmenting order.
//
// Every policy of the allocator registry (allocators/registry.h) runs every pattern, wrapped in
// CheckedSizePolicy (sized frees, double frees, leaks); pools are small enough to run out, so
// frees go to both the pool and its fallback. Periodically, the reference counts of every node are
// checked against the references that exist among the retained versions, and the policy's live
// bytes against the nodes they reach (no leak while running); at the end the versions are dropped
// in a random order and the policy must hold no live byte.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/private_library.h"
#include "allocators/registry.h"
#include "allocators/slot_recycler.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/internal/persistent_testing.h"
#include "hamt/persistent_map.h"
#include "hamt/testing_hashes.h"

namespace {

enum class Retention { kNewest, kLastH, kRandom };

const char* RetentionName(Retention retention) {
  switch (retention) {
    case Retention::kNewest: return "newest";
    case Retention::kLastH: return "last H";
    case Retention::kRandom: return "random subset";
  }
  return "?";
}

struct Scenario {
  Retention retention;
  std::uint64_t seed;
  int steps;
  std::int64_t key_range;  // keys are drawn from [0, key_range)
  std::size_t retained;    // H, or the random subset's size
  int sharing_check_period;
};

template <class Map>
struct Version {
  Map map;
  std::map<std::int64_t, std::int64_t> snapshot;
};

// Every retained version against its snapshot: size, every entry through iteration and find, and
// a few absent keys.
template <class Map>
void ExpectReadsItsSnapshot(const Version<Map>& version, std::int64_t key_range, int step,
                            std::size_t index) {
  const Map& map = version.map;
  ASSERT_EQ(map.size(), version.snapshot.size()) << "step " << step << ", version " << index;
  std::size_t visited = 0;
  for (const auto& [key, value] : map) {
    const auto it = version.snapshot.find(key);
    ASSERT_NE(it, version.snapshot.end()) << "step " << step << ": foreign key " << key;
    ASSERT_EQ(it->second, value) << "step " << step << ", key " << key;
    ++visited;
  }
  ASSERT_EQ(visited, version.snapshot.size()) << "step " << step;
  for (const auto& [key, value] : version.snapshot) {
    const std::int64_t* found = map.find(key);
    ASSERT_NE(found, nullptr) << "step " << step << ": lost key " << key;
    ASSERT_EQ(*found, value) << "step " << step << ", key " << key;
  }
  for (std::int64_t key = key_range; key < key_range + 3; ++key) ASSERT_FALSE(map.contains(key));
}

template <class Map>
void ExpectSharingSound(const Map& keeper, const std::vector<Version<Map>>& versions, int step) {
  std::vector<const Map*> all = {&keeper};
  for (const Version<Map>& version : versions) all.push_back(&version.map);
  hamt::internal::SharedTotals totals;
  ASSERT_EQ(hamt::internal::CheckSharing(all, &totals), "") << "step " << step;
  ASSERT_EQ(totals.node_bytes, keeper.allocator().stats().live_bytes) << "step " << step;
  for (const Map* map : all) ASSERT_EQ(map->check_invariants(), "") << "step " << step;
}

// Runs `scenario` on versions of `keeper`, an empty map (the lineage's policy comes with it) that
// is kept to the end, so that the lineage and its policy's statistics outlive every version.
template <class Map>
void RunVersions(const Map keeper, const Scenario& scenario) {
  SCOPED_TRACE(std::string(RetentionName(scenario.retention)) + ", seed " +
               std::to_string(scenario.seed) + ", key range " +
               std::to_string(scenario.key_range));
  std::mt19937_64 rng(scenario.seed);
  std::vector<Version<Map>> versions;
  versions.push_back({keeper, {}});

  for (int step = 0; step < scenario.steps; ++step) {
    // The base: the newest version, or a random one.
    const std::size_t base = scenario.retention == Retention::kRandom
                                 ? static_cast<std::size_t>(rng() % versions.size())
                                 : versions.size() - 1;
    // Whether the base is given up by this step (newest only: always; random: sometimes), so
    // the update may take it over through an rvalue.
    const bool replace_base =
        scenario.retention == Retention::kNewest ||
        (scenario.retention == Retention::kRandom && versions.size() >= scenario.retained &&
         rng() % 2 == 0);
    const bool by_rvalue = replace_base && rng() % 4 != 0;

    {  // a scope, so that the moved-from versions it leaves behind are gone before the checks
      Version<Map>& from = versions[base];
      std::map<std::int64_t, std::int64_t> snapshot = from.snapshot;
      const unsigned op = static_cast<unsigned>(rng() % 20);
      const auto key = static_cast<std::int64_t>(rng() % scenario.key_range);
      const auto value = static_cast<std::int64_t>(rng());
      auto some_present_key = [&] {
        return std::next(snapshot.begin(), static_cast<long>(rng() % snapshot.size()))->first;
      };
      auto update = [&]() -> Map {
        if (op < 7 && !snapshot.empty()) {  // erase a present key
          const std::int64_t victim = some_present_key();
          snapshot.erase(victim);
          return by_rvalue ? std::move(from.map).erase(victim) : from.map.erase(victim);
        }
        if (op < 9) {  // erase a key that may be absent
          snapshot.erase(key);
          return by_rvalue ? std::move(from.map).erase(key) : from.map.erase(key);
        }
        if (op < 12 && !snapshot.empty()) {  // assign to a present key
          const std::int64_t present = some_present_key();
          snapshot[present] = value;
          return by_rvalue ? std::move(from.map).set(present, value) : from.map.set(present, value);
        }
        snapshot[key] = value;  // set a random key
        return by_rvalue ? std::move(from.map).set(key, value) : from.map.set(key, value);
      };
      Version<Map> next{update(), std::move(snapshot)};

      if (replace_base) {
        versions[base] = std::move(next);
        if (scenario.retention == Retention::kRandom) {
          std::swap(versions[base], versions.back());  // the newest goes last
        }
      } else {
        versions.push_back(std::move(next));
      }
    }
    if (scenario.retention == Retention::kLastH && versions.size() > scenario.retained) {
      versions.erase(versions.begin());
    }
    if (scenario.retention == Retention::kRandom && versions.size() > scenario.retained) {
      // Drop a random version other than the newest.
      versions.erase(versions.begin() + static_cast<long>(rng() % (versions.size() - 1)));
    }

    for (std::size_t i = 0; i < versions.size(); ++i) {
      ExpectReadsItsSnapshot(versions[i], scenario.key_range, step, i);
      if (::testing::Test::HasFatalFailure()) return;
    }
    if ((step + 1) % scenario.sharing_check_period == 0) {
      ExpectSharingSound(keeper, versions, step);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  ExpectSharingSound(keeper, versions, scenario.steps);
  // Drop the versions in a random order; the sharing stays sound after each drop.
  std::shuffle(versions.begin(), versions.end(), rng);
  while (!versions.empty()) {
    versions.pop_back();
    ExpectSharingSound(keeper, versions, scenario.steps);
    if (::testing::Test::HasFatalFailure()) return;
  }
  const allocators::AllocStats& stats = keeper.allocator().stats();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.allocations, stats.deallocations);
  EXPECT_GT(stats.allocations, static_cast<std::uint64_t>(scenario.steps / 2));
}

std::vector<Scenario> Scenarios(int steps) {
  std::vector<Scenario> scenarios;
  for (Retention retention : {Retention::kNewest, Retention::kLastH, Retention::kRandom}) {
    scenarios.push_back({retention, 11, steps, 300, 8, 50});
    // A small key range: maps that drain to empty and refill.
    scenarios.push_back({retention, 12, steps / 2, 12, 16, 25});
  }
  return scenarios;
}

// Pools of 512 slots (4 KB): exhausted within the first hundred updates, so later nodes come
// from the fallback and frees go to both.
allocators::PolicyOptions SmallPool() {
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = 512, .quiet = true};
  return options;
}

template <class Line>
class PersistentPolicyTest : public ::testing::Test {};
TYPED_TEST_SUITE(PersistentPolicyTest, allocators::Registry::apply<::testing::Types>,
                 allocators::LineName);

template <class Line, class Hash>
using CheckedMap =
    hamt::PersistentMap<std::int64_t, std::int64_t, Hash, std::equal_to<std::int64_t>,
                        allocators::CheckedSizePolicy<allocators::PolicyOf<Line>>>;

template <class Line, class Hash>
void RunEveryScenario(int steps) {
  using Map = CheckedMap<Line, Hash>;
  for (const Scenario& scenario : Scenarios(steps)) {
    RunVersions(Map(Hash(), std::equal_to<std::int64_t>(),
                    typename Map::allocator_type(allocators::MakePolicy<Line>(SmallPool()))),
                scenario);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TYPED_TEST(PersistentPolicyTest, VersionsReadTheirSnapshots) {
  RunEveryScenario<TypeParam, hamt::testing::SplitMixHash>(1000);
}

// Only the low 8 bits of the hash vary: chains down to collision nodes, shared across versions.
TYPED_TEST(PersistentPolicyTest, VersionsReadTheirSnapshotsWithCollisions) {
  RunEveryScenario<TypeParam, hamt::testing::LowBitsHash>(500);
}

// Longer runs on the three policies the persistent-churn experiment contrasts.
template <class Policy>
class LongRunTest : public ::testing::Test {};
using LongRunPolicies =
    ::testing::Types<allocators::CheckedSizePolicy<allocators::MallocPolicy>,
                     allocators::CheckedSizePolicy<allocators::BumpPool>,
                     allocators::CheckedSizePolicy<allocators::SlotRecycler>>;
TYPED_TEST_SUITE(LongRunTest, LongRunPolicies);

TYPED_TEST(LongRunTest, VersionsReadTheirSnapshots) {
  using Map = hamt::PersistentMap<std::int64_t, std::int64_t, hamt::testing::SplitMixHash,
                                  std::equal_to<std::int64_t>, TypeParam>;
  for (Retention retention : {Retention::kNewest, Retention::kLastH, Retention::kRandom}) {
    for (std::uint64_t seed : {21, 22}) {
      // 4,096 slots (32 KB): a few hundred updates before the pool runs dry.
      TypeParam policy = [] {
        if constexpr (std::is_same_v<TypeParam,
                                     allocators::CheckedSizePolicy<allocators::MallocPolicy>>) {
          return TypeParam();
        } else {
          return TypeParam(allocators::PoolOptions{.capacity_slots = 4096, .quiet = true});
        }
      }();
      RunVersions(Map(std::move(policy)), {retention, seed, 3000, 2000, 12, 500});
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace

// jemalloc's API can only be loaded privately with enough static TLS: re-execute with it.
int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
