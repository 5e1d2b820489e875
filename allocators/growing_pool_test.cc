// Tests for GrowingPool and GrowingRecycler (growing_pool.h): chunks grow by the factor and fit
// the request, are contiguous and never fall back without a cap; a cap falls back past it and
// warns once; bad options are refused; recycling works over a growing pool.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "allocators/growing_pool.h"
#include "allocators/slot_pool.h"
#include "allocators/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace allocators {
namespace {

using ::testing::HasSubstr;

// 512 slots = 4096 bytes: one page, so chunk sizes are exact.
PoolOptions Growing(std::size_t first_slots, double factor, std::size_t max_slots = 0) {
  PoolOptions options;
  options.capacity_slots = first_slots;
  options.growth_factor = factor;
  options.max_slots = max_slots;
  options.quiet = true;
  return options;
}

TEST(GrowingPoolTest, StartsWithOneChunkOfTheFirstSize) {
  GrowingPool pool(Growing(512, 2.0));
  EXPECT_EQ(pool.stats().capacity_slots, 512u);
  EXPECT_EQ(pool.stats().pool_chunks, 1u);
}

TEST(GrowingPoolTest, AnEmptyFirstChunkIsCommittedAtTheFirstRequest) {
  GrowingPool pool(Growing(0, 2.0));
  EXPECT_EQ(pool.stats().capacity_slots, 0u);
  EXPECT_EQ(pool.stats().pool_chunks, 0u);
  void* p = pool.allocate(8);
  EXPECT_TRUE(pool.owns(p));
  EXPECT_EQ(pool.stats().pool_chunks, 1u);
  EXPECT_EQ(pool.stats().capacity_slots, 512u);  // one 4 KiB page
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);
  pool.deallocate(p, 8);
}

TEST(GrowingPoolTest, ChunksGrowByTheFactorAndNeverFallBack) {
  GrowingPool pool(Growing(512, 2.0));
  std::vector<void*> blocks;
  // 512 + 1024 + 2048 slots hold 3584 one-slot blocks; the 3585th opens a 4th chunk of 4096.
  for (int i = 0; i < 3584; ++i) blocks.push_back(pool.allocate(8));
  EXPECT_EQ(pool.stats().pool_chunks, 3u);
  EXPECT_EQ(pool.stats().capacity_slots, 512u + 1024u + 2048u);
  blocks.push_back(pool.allocate(8));
  EXPECT_EQ(pool.stats().pool_chunks, 4u);
  EXPECT_EQ(pool.stats().capacity_slots, 512u + 1024u + 2048u + 4096u);
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);
  EXPECT_EQ(pool.stats().slots_demanded, 3585u);
  EXPECT_EQ(pool.stats().high_water_slots, 3585u);
  for (void* p : blocks) {
    EXPECT_TRUE(pool.owns(p));
    pool.deallocate(p, 8);
  }
}

TEST(GrowingPoolTest, ChunksAreContiguousSoNoTailIsWasted) {
  GrowingPool pool(Growing(512, 1.0));
  char* first = static_cast<char*>(pool.allocate(8 * 500));
  // 12 slots left in the first chunk; a 20-slot block spans into the second.
  char* spanning = static_cast<char*>(pool.allocate(8 * 20));
  EXPECT_EQ(spanning, first + 8 * 500);
  EXPECT_EQ(pool.stats().pool_chunks, 2u);
  EXPECT_EQ(pool.stats().capacity_slots, 1024u);  // factor 1: equal chunks
  pool.deallocate(spanning, 8 * 20);
  pool.deallocate(first, 8 * 500);
}

TEST(GrowingPoolTest, AChunkIsAtLeastTheRequestThatNeededIt) {
  GrowingPool pool(Growing(512, 2.0));
  void* big = pool.allocate(8 * 5000);  // more than the next chunk (1024 slots)
  EXPECT_TRUE(pool.owns(big));
  EXPECT_EQ(pool.stats().pool_chunks, 2u);
  EXPECT_GE(pool.stats().capacity_slots, 5000u);
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);
  pool.deallocate(big, 8 * 5000);
}

TEST(GrowingPoolTest, ACapFallsBackPastItAndRoutesFreesBack) {
  GrowingPool pool(Growing(512, 2.0, 1024));
  void* in_pool = pool.allocate(8 * 1000);
  EXPECT_TRUE(pool.owns(in_pool));
  void* over = pool.allocate(8 * 100);  // 1100 slots > the cap of 1024
  EXPECT_FALSE(pool.owns(over));
  EXPECT_EQ(pool.stats().fallback_allocations, 1u);
  EXPECT_EQ(pool.stats().capacity_slots, 1024u);
  pool.deallocate(over, 8 * 100);
  EXPECT_EQ(pool.stats().fallback_deallocations, 1u);
  pool.deallocate(in_pool, 8 * 1000);
  EXPECT_EQ(pool.stats().live_bytes, 0u);
}

TEST(GrowingPoolTest, ACappedPoolWarnsOnceAtTheThresholdOfItsCap) {
  PoolOptions options = Growing(512, 2.0, 1000);
  options.quiet = false;
  options.warn_utilization = 0.5;
  GrowingPool pool(options);
  ::testing::internal::CaptureStderr();
  void* a = pool.allocate(8 * 499);  // below 500 slots: quiet
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ::testing::internal::CaptureStderr();
  void* b = pool.allocate(8);  // 500 slots: 50% of the cap
  void* c = pool.allocate(8);
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(warnings, HasSubstr("growing pool utilization reached 50% of its cap"));
  EXPECT_EQ(warnings.find("warning", 1), std::string::npos) << warnings;  // once
  EXPECT_EQ(pool.stats().warnings, 1u);
  pool.deallocate(c, 8);
  pool.deallocate(b, 8);
  pool.deallocate(a, 8 * 499);
}

TEST(GrowingPoolTest, AnUncappedPoolNeverWarns) {
  PoolOptions options = Growing(512, 2.0);
  options.quiet = false;
  GrowingPool pool(options);
  ::testing::internal::CaptureStderr();
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(pool.allocate(8));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  for (void* p : blocks) pool.deallocate(p, 8);
}

TEST(GrowingPoolTest, RefusesBadOptionsNamingTheProblem) {
  const auto message = [](const PoolOptions& options) {
    try {
      GrowingPool pool(options);
    } catch (const PoolReserveError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message(Growing(512, 0.5)), HasSubstr("growth factor 0.5: must be a number >= 1"));
  PoolOptions huge = Growing(512, 2.0);
  huge.huge_pages = true;
  EXPECT_THAT(message(huge), HasSubstr("huge pages are an option of the fixed pools"));
  EXPECT_THAT(message(Growing(512, std::nan(""))), HasSubstr("must be a number >= 1"));
  EXPECT_THAT(message(Growing(1024, 2.0, 512)), HasSubstr("cap of 512 slots is below the first"));
  EXPECT_THAT(message(Growing(std::numeric_limits<std::size_t>::max(), 2.0)),
              HasSubstr("overflow"));
}

TEST(GrowingPoolTest, PrefaultCommitsEveryChunkUpFront) {
  PoolOptions options = Growing(512, 2.0);
  options.prefault = true;
  CheckedSizePolicy<GrowingPool> pool(options);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(pool.allocate(8));
  EXPECT_EQ(pool.stats().pool_chunks, 3u);
  for (void* p : blocks) pool.deallocate(p, 8);
}

TEST(GrowingRecyclerTest, ReusesFreedBlocksAcrossChunks) {
  GrowingRecycler pool(Growing(512, 2.0));
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool.allocate(16));  // 2000 slots: 3 chunks
  EXPECT_EQ(pool.stats().pool_chunks, 3u);
  void* last = blocks.back();
  pool.deallocate(last, 16);
  EXPECT_EQ(pool.allocate(16), last);
  EXPECT_EQ(pool.stats().reused_allocations, 1u);
  EXPECT_EQ(pool.stats().slots_demanded, 2000u);  // the reuse demanded nothing fresh
  for (void* p : blocks) pool.deallocate(p, 16);
  EXPECT_EQ(pool.stats().live_bytes, 0u);
}

TEST(GrowingPoolTest, MoveTransfersTheChunks) {
  GrowingPool a(Growing(512, 2.0));
  void* p = a.allocate(8 * 600);  // a second chunk
  GrowingPool b(std::move(a));
  EXPECT_TRUE(b.owns(p));
  EXPECT_EQ(b.stats().pool_chunks, 2u);
  void* q = b.allocate(8);
  EXPECT_TRUE(b.owns(q));
  b.deallocate(q, 8);
  b.deallocate(p, 8 * 600);
}

}  // namespace
}  // namespace allocators
