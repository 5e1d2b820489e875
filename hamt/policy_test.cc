// hamt::Map over every allocator policy: the same workload must give the same answers, leave no
// live bytes, and (for pools) survive pool exhaustion, where blocks start coming from malloc.
#include <cstdint>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "allocators/bump_pool.h"
#include "allocators/jemalloc_arena_policy.h"
#include "allocators/jemalloc_policy.h"
#include "allocators/malloc_policy.h"
#include "allocators/mimalloc_heap_policy.h"
#include "allocators/mimalloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/private_library.h"
#include "allocators/slot_pool.h"
#include "allocators/slot_recycler.h"
#include "allocators/tcmalloc_policy.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"
#include "hamt/internal/testing_policies.h"

namespace {

template <class P, std::size_t kCapacitySlots = 0>
struct PolicyFactory {
  using Policy = P;
  static constexpr bool kIsPool = kCapacitySlots != 0;
  static Policy Make() {
    if constexpr (kIsPool) {
      return Policy(allocators::PoolOptions{
          .capacity_slots = kCapacitySlots, .warn_utilization = 0.8, .quiet = true});
    } else {
      return Policy();
    }
  }
};

using Policies = ::testing::Types<
    PolicyFactory<allocators::MallocPolicy>, PolicyFactory<hamt::testing::CheckedSizePolicy>,
    PolicyFactory<allocators::BumpPool, 1024>, PolicyFactory<allocators::BumpPool, 1 << 24>,
    PolicyFactory<allocators::SlotRecycler, 1024>,
    PolicyFactory<allocators::SlotRecycler, 1 << 24>, PolicyFactory<allocators::MimallocPolicy>,
    PolicyFactory<allocators::MimallocHeapPolicy>, PolicyFactory<allocators::JemallocPolicy>,
    PolicyFactory<allocators::JemallocArenaPolicy>, PolicyFactory<allocators::TcmallocPolicy>,
    PolicyFactory<allocators::PmrMonotonicPolicy>, PolicyFactory<allocators::PmrPoolPolicy>>;

template <class Factory>
class PolicyTest : public ::testing::Test {
 protected:
  using Map = hamt::Map<std::int64_t, std::int64_t, absl::Hash<std::int64_t>,
                        std::equal_to<std::int64_t>, typename Factory::Policy>;
};
TYPED_TEST_SUITE(PolicyTest, Policies);

TYPED_TEST(PolicyTest, RandomWorkloadMatchesReference) {
  typename TestFixture::Map map(TypeParam::Make());
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
  EXPECT_GT(stats.live_bytes, 0u);
  // Each live node holds at most 32 entries.
  EXPECT_GE(stats.allocations - stats.deallocations, map.size() / 32);
  if (stats.capacity_slots == 1024) {
    EXPECT_GT(stats.fallback_allocations, 0u);
  }

  map.clear();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.allocations, stats.deallocations);
  EXPECT_EQ(stats.bytes_allocated, stats.bytes_deallocated);
  EXPECT_EQ(stats.fallback_allocations, stats.fallback_deallocations);
}

TYPED_TEST(PolicyTest, MoveKeepsNodesWithTheirPolicy) {
  typename TestFixture::Map map(TypeParam::Make());
  for (std::int64_t k = 0; k < 5000; ++k) map.insert_or_assign(k, -k);
  const std::uint64_t live = map.allocator().stats().live_bytes;
  typename TestFixture::Map moved(std::move(map));
  EXPECT_EQ(moved.allocator().stats().live_bytes, live);
  typename TestFixture::Map assigned(TypeParam::Make());
  assigned.insert_or_assign(1, 1);
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 5000u);
  for (std::int64_t k = 0; k < 5000; ++k) ASSERT_EQ(*assigned.find(k), -k);
  EXPECT_EQ(assigned.check_invariants(), "");
}

}  // namespace

// jemalloc's API can only be loaded privately with enough static TLS: re-execute with it.
int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
