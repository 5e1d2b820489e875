// hamt::Map over every allocator policy of the registry (allocators/registry.h): the same workload
// must give the same answers, leave no live bytes, and (for pools) survive pool exhaustion, where
// blocks start coming from the fallback. The uncounted variants must serve the same map.
#include <cstdint>
#include <random>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "allocators/private_library.h"
#include "allocators/registry.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"

namespace {

using allocators::PolicyOf;
using allocators::Telemetry;

template <class Policy>
using Map = hamt::Map<std::int64_t, std::int64_t, absl::Hash<std::int64_t>,
                      std::equal_to<std::int64_t>, Policy>;

// Pools run twice: exhausted early (1024 slots) and never (16M slots).
constexpr std::size_t kSmallPool = 1024;
constexpr std::size_t kLargePool = std::size_t{1} << 24;

allocators::PolicyOptions PoolOf(std::size_t slots) {
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = slots, .warn_utilization = 0.8, .quiet = true};
  return options;
}

template <class Line>
std::vector<std::size_t> PoolSizes() {
  if constexpr (Line::owns_pool) {
    return {kSmallPool, kLargePool};
  } else {
    return {0};
  }
}

template <class Policy>
void RandomWorkloadMatchesReference(Policy policy) {
  Map<Policy> map(std::move(policy));
  absl::flat_hash_map<std::int64_t, std::int64_t> expected;
  std::mt19937_64 rng(42);
  for (int step = 0; step < 100000; ++step) {
    const std::int64_t key = static_cast<std::int64_t>(rng() % 20000);
    if (rng() % 3 == 0) {
      ASSERT_EQ(map.erase(key), expected.erase(key) == 1);
    } else {
      ASSERT_EQ(map.insert_or_assign(key, step).second,
                expected.insert_or_assign(key, step).second);
    }
  }
  ASSERT_EQ(map.check_invariants(), "");
  ASSERT_EQ(map.size(), expected.size());
  for (const auto& [key, value] : expected) {
    ASSERT_NE(map.find(key), nullptr);
    ASSERT_EQ(*map.find(key), value);
  }
  std::size_t visited = 0;
  for (const auto& [key, value] : map) {
    ASSERT_EQ(expected.at(key), value);
    ++visited;
  }
  ASSERT_EQ(visited, expected.size());

  const allocators::AllocStats& stats = map.allocator().stats();
  if constexpr (!allocators::IsCounted<Policy>()) {
    map.clear();
    EXPECT_EQ(stats, allocators::AllocStats{});
    return;
  }
  EXPECT_GT(stats.live_bytes, 0u);
  // Each live node holds at most 32 entries.
  EXPECT_GE(stats.allocations - stats.deallocations, map.size() / 32);
  if (stats.capacity_slots == kSmallPool) {
    EXPECT_GT(stats.fallback_allocations, 0u);
  }

  map.clear();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.allocations, stats.deallocations);
  EXPECT_EQ(stats.bytes_allocated, stats.bytes_deallocated);
  EXPECT_EQ(stats.fallback_allocations, stats.fallback_deallocations);
}

template <class Policy, class Make>
void MoveKeepsNodesWithTheirPolicy(Make make) {
  Map<Policy> map(make());
  for (std::int64_t k = 0; k < 5000; ++k) map.insert_or_assign(k, -k);
  const std::uint64_t live = map.allocator().stats().live_bytes;
  Map<Policy> moved(std::move(map));
  EXPECT_EQ(moved.allocator().stats().live_bytes, live);
  Map<Policy> assigned(make());
  assigned.insert_or_assign(1, 1);
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 5000u);
  for (std::int64_t k = 0; k < 5000; ++k) ASSERT_EQ(*assigned.find(k), -k);
  EXPECT_EQ(assigned.check_invariants(), "");
}

template <class Line>
class PolicyTest : public ::testing::Test {};
TYPED_TEST_SUITE(PolicyTest, allocators::Registry::apply<::testing::Types>, allocators::LineName);

TYPED_TEST(PolicyTest, RandomWorkloadMatchesReference) {
  for (std::size_t slots : PoolSizes<TypeParam>()) {
    SCOPED_TRACE("pool slots " + std::to_string(slots));
    RandomWorkloadMatchesReference(allocators::MakePolicy<TypeParam>(PoolOf(slots)));
  }
}

TYPED_TEST(PolicyTest, UncountedServesTheSameMap) {
  for (std::size_t slots : PoolSizes<TypeParam>()) {
    SCOPED_TRACE("pool slots " + std::to_string(slots));
    RandomWorkloadMatchesReference(
        allocators::MakePolicy<TypeParam, Telemetry::kOff>(PoolOf(slots)));
  }
}

TYPED_TEST(PolicyTest, MoveKeepsNodesWithTheirPolicy) {
  for (std::size_t slots : PoolSizes<TypeParam>()) {
    SCOPED_TRACE("pool slots " + std::to_string(slots));
    MoveKeepsNodesWithTheirPolicy<PolicyOf<TypeParam>>(
        [slots] { return allocators::MakePolicy<TypeParam>(PoolOf(slots)); });
  }
}

// The test helper that checks every size passed back, around the default policy.
TEST(CheckedPolicyTest, RandomWorkloadMatchesReference) {
  RandomWorkloadMatchesReference(allocators::CheckedSizePolicy<>());
}

}  // namespace

// jemalloc's API can only be loaded privately with enough static TLS: re-execute with it.
int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
