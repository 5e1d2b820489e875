// Tests for BumpPool and SlotRecycler (slot_pool.h): telemetry to the unit after scripted
// sequences, the exhaustion boundary, fallback routing, recycling, the one-time warning, capacity 0
// and reservation failures.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/slot_pool.h"
#include "allocators/slot_recycler.h"
#include "allocators/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace allocators {
namespace {

using ::testing::HasSubstr;

PoolOptions Quiet(std::size_t capacity_slots) {
  PoolOptions options;
  options.capacity_slots = capacity_slots;
  options.quiet = true;
  return options;
}

template <class Pool>
class PoolTest : public ::testing::Test {};
using PoolTypes = ::testing::Types<BumpPool, SlotRecycler>;
TYPED_TEST_SUITE(PoolTest, PoolTypes);

TYPED_TEST(PoolTest, EveryBlockIsAlignedAndSizesAreChecked) {
  CheckedSizePolicy<TypeParam> pool(Quiet(1 << 16));
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t bytes = 0; bytes <= 600; ++bytes) blocks.emplace_back(pool.allocate(bytes), bytes);
  for (auto [p, bytes] : blocks) pool.deallocate(p, bytes);
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);
}

// 10 slots: 24 B (3) + 40 B (5) + 16 B (2) fill the pool exactly; the next 8 B (1) falls back.
TYPED_TEST(PoolTest, ScriptedSequenceTelemetryIsExact) {
  TypeParam pool(Quiet(10));
  void* a = pool.allocate(24);
  void* b = pool.allocate(40);
  void* c = pool.allocate(16);
  EXPECT_TRUE(pool.owns(a) && pool.owns(b) && pool.owns(c));
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);  // the last block that fits did not fall back
  void* d = pool.allocate(8);                        // the first that does not fit
  EXPECT_FALSE(pool.owns(d));

  AllocStats expected;
  expected.allocations = 4;
  expected.bytes_allocated = 88;
  expected.live_bytes = 88;
  expected.peak_live_bytes = 88;
  expected.capacity_slots = 10;
  expected.slots_demanded = 11;
  expected.high_water_slots = 10;
  expected.fallback_allocations = 1;
  expected.fallback_bytes = 8;
  EXPECT_EQ(pool.stats(), expected);

  pool.deallocate(b, 40);
  pool.deallocate(d, 8);
  pool.deallocate(a, 24);
  pool.deallocate(c, 16);
  expected.deallocations = 4;
  expected.bytes_deallocated = 88;
  expected.live_bytes = 0;
  expected.fallback_deallocations = 1;  // only d went to free()
  EXPECT_EQ(pool.stats(), expected);
}

TYPED_TEST(PoolTest, ExhaustionBoundaryIsTheFirstRequestThatDoesNotFit) {
  // 100 slots, 24-byte blocks (3 slots): 33 fit (99 slots), the 34th does not.
  TypeParam pool(Quiet(100));
  std::vector<void*> blocks;
  for (int i = 0; i < 33; ++i) {
    blocks.push_back(pool.allocate(24));
    ASSERT_TRUE(pool.owns(blocks.back())) << "block " << i;
  }
  EXPECT_EQ(pool.stats().fallback_allocations, 0u);
  EXPECT_EQ(pool.stats().high_water_slots, 99u);
  blocks.push_back(pool.allocate(24));
  EXPECT_FALSE(pool.owns(blocks.back()));
  EXPECT_EQ(pool.stats().fallback_allocations, 1u);
  EXPECT_EQ(pool.stats().fallback_bytes, 24u);
  // One slot is left: an 8-byte request still fits after a fallback.
  blocks.push_back(pool.allocate(8));
  EXPECT_TRUE(pool.owns(blocks.back()));
  EXPECT_EQ(pool.stats().high_water_slots, 100u);
  EXPECT_EQ(pool.stats().slots_demanded, 103u);
  for (void* p : blocks) pool.deallocate(p, p == blocks.back() ? 8 : 24);
  EXPECT_EQ(pool.stats().fallback_deallocations, 1u);
  EXPECT_EQ(pool.stats().live_bytes, 0u);
}

TYPED_TEST(PoolTest, ZeroByteRequestsTakeASlotAndHaveDistinctAddresses) {
  TypeParam pool(Quiet(4));
  void* a = pool.allocate(0);
  void* b = pool.allocate(0);
  EXPECT_NE(a, b);
  EXPECT_EQ(pool.stats().slots_demanded, 2u);
  EXPECT_EQ(pool.stats().bytes_allocated, 0u);
  pool.deallocate(a, 0);
  pool.deallocate(b, 0);
}

TYPED_TEST(PoolTest, CapacityZeroSendsEverythingToMalloc) {
  TypeParam pool(Quiet(0));
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) {
    blocks.push_back(pool.allocate(40));
    EXPECT_FALSE(pool.owns(blocks.back()));
  }
  for (void* p : blocks) pool.deallocate(p, 40);
  const AllocStats& s = pool.stats();
  EXPECT_EQ(s.capacity_slots, 0u);
  EXPECT_EQ(s.fallback_allocations, 10u);
  EXPECT_EQ(s.fallback_bytes, 400u);
  EXPECT_EQ(s.fallback_deallocations, 10u);
  EXPECT_EQ(s.slots_demanded, 50u);
  EXPECT_EQ(s.high_water_slots, 0u);
  EXPECT_EQ(s.reused_allocations, 0u);
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_EQ(FallbackPct(s), 100.0);
}

TYPED_TEST(PoolTest, CapacityZeroWarnsOnFirstDemandUnlessQuiet) {
  PoolOptions options;
  options.capacity_slots = 0;
  ::testing::internal::CaptureStderr();
  {
    TypeParam pool(options);
    void* p = pool.allocate(8);
    void* q = pool.allocate(8);
    pool.deallocate(p, 8);
    pool.deallocate(q, 8);
    EXPECT_EQ(pool.stats().warnings, 1u);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("utilization reached 80% (1 slots demanded of 0)"));
}

TYPED_TEST(PoolTest, WarningFiresExactlyOnceAtEightyPercent) {
  PoolOptions options;
  options.capacity_slots = 10;  // warns when 8 slots have been demanded
  ::testing::internal::CaptureStderr();
  TypeParam pool(options);
  std::vector<void*> blocks;
  for (int i = 0; i < 7; ++i) blocks.push_back(pool.allocate(8));
  EXPECT_EQ(pool.stats().warnings, 0u);
  const std::string before = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(before, "");

  ::testing::internal::CaptureStderr();
  blocks.push_back(pool.allocate(8));  // 8 of 10
  for (int i = 0; i < 20; ++i) blocks.push_back(pool.allocate(8));  // past 100%: no second warning
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(pool.stats().warnings, 1u);
  EXPECT_THAT(err, HasSubstr("utilization reached 80% (8 slots demanded of 10)"));
  EXPECT_EQ(err.find("warning:"), err.rfind("warning:")) << err;  // one line
  for (void* p : blocks) pool.deallocate(p, 8);
}

TYPED_TEST(PoolTest, QuietSilencesTheWarningButKeepsCounting) {
  ::testing::internal::CaptureStderr();
  TypeParam pool(Quiet(10));
  std::vector<void*> blocks;
  for (int i = 0; i < 20; ++i) blocks.push_back(pool.allocate(8));
  for (void* p : blocks) pool.deallocate(p, 8);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(pool.stats().warnings, 0u);
  EXPECT_EQ(pool.stats().slots_demanded, 20u);
  EXPECT_GT(UtilizationPct(pool.stats()), 100.0);
}

TYPED_TEST(PoolTest, OverflowingCapacityThrowsPoolReserveError) {
  try {
    TypeParam pool(Quiet(std::size_t{1} << 61));
    FAIL() << "no exception";
  } catch (const PoolReserveError& e) {
    EXPECT_THAT(e.what(), HasSubstr("capacity of 2305843009213693952 slots overflows"));
  }
}

TYPED_TEST(PoolTest, UnreservableCapacityThrowsPoolReserveError) {
  try {
    TypeParam pool(Quiet(std::size_t{1} << 50));  // 8 PiB: beyond a 47-bit address space
    FAIL() << "no exception";
  } catch (const PoolReserveError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot reserve 1125899906842624 slots (9007199254740992 bytes)"));
  }
}

TYPED_TEST(PoolTest, MoveTransfersStatsAndBlocks) {
  TypeParam a(Quiet(16));
  void* p = a.allocate(24);
  void* q = a.allocate(200);  // 25 slots: falls back
  const AllocStats before = a.stats();
  TypeParam b(std::move(a));
  EXPECT_EQ(b.stats(), before);
  EXPECT_EQ(a.stats(), AllocStats{});
  EXPECT_TRUE(b.owns(p));
  EXPECT_FALSE(a.owns(p));
  TypeParam c(Quiet(4));
  c = std::move(b);
  EXPECT_EQ(c.stats(), before);
  EXPECT_TRUE(c.owns(p));
  c.deallocate(p, 24);
  c.deallocate(q, 200);
  EXPECT_EQ(c.stats().live_bytes, 0u);
  EXPECT_EQ(c.stats().fallback_deallocations, 1u);
}

// Huge pages: the pool starts on a 2 MiB boundary (whole huge pages fit), serves as any pool does,
// prefaulted or not; the advice itself is the kernel's to take.
TYPED_TEST(PoolTest, HugePagePoolsAreAlignedToTwoMiB) {
  for (const bool prefault : {false, true}) {
    SCOPED_TRACE(prefault ? "prefaulted" : "lazy");
    PoolOptions options = Quiet(std::size_t{1} << 19);  // 4 MiB
    options.huge_pages = true;
    options.prefault = prefault;
    TypeParam pool(options);
    void* first = pool.allocate(64);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % (std::size_t{2} << 20), 0u);
    void* last = pool.allocate((std::size_t{1} << 22) - 64);  // the rest of the pool, exactly
    EXPECT_TRUE(pool.owns(last));
    static_cast<char*>(last)[(std::size_t{1} << 22) - 65] = 1;  // the pool's last byte is mapped
    EXPECT_EQ(pool.stats().fallback_allocations, 0u);
    pool.deallocate(last, (std::size_t{1} << 22) - 64);
    pool.deallocate(first, 64);
  }
}

// ---- BumpPool only ----

TEST(BumpPoolTest, FreedBlocksAreNeverReused) {
  BumpPool pool(Quiet(100));
  void* a = pool.allocate(40);
  pool.deallocate(a, 40);
  void* b = pool.allocate(40);
  EXPECT_NE(a, b);
  pool.deallocate(b, 40);
  EXPECT_EQ(pool.stats().slots_demanded, 10u);
  EXPECT_EQ(pool.stats().high_water_slots, 10u);
  EXPECT_EQ(pool.stats().reused_allocations, 0u);
  EXPECT_EQ(pool.stats().fallback_deallocations, 0u);
}

// ---- SlotRecycler only ----

TEST(SlotRecyclerTest, ReusesAFreedBlockOfTheSameSlotCount) {
  SlotRecycler pool(Quiet(100));
  void* a = pool.allocate(40);
  pool.deallocate(a, 40);
  void* b = pool.allocate(40);
  EXPECT_EQ(a, b);
  pool.deallocate(b, 40);
  void* c = pool.allocate(33);  // also 5 slots
  EXPECT_EQ(a, c);
  void* d = pool.allocate(48);  // 6 slots: fresh
  EXPECT_NE(a, d);
  pool.deallocate(c, 33);
  pool.deallocate(d, 48);
  const AllocStats& s = pool.stats();
  EXPECT_EQ(s.reused_allocations, 2u);
  EXPECT_EQ(s.slots_demanded, 11u);
  EXPECT_EQ(s.high_water_slots, 11u);
  EXPECT_EQ(s.allocations, 4u);
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_EQ(s.peak_live_bytes, 81u);
}

TEST(SlotRecyclerTest, LifoOrderWithinASize) {
  SlotRecycler pool(Quiet(100));
  void* a = pool.allocate(16);
  void* b = pool.allocate(16);
  pool.deallocate(a, 16);
  pool.deallocate(b, 16);
  void* first = pool.allocate(16);
  void* second = pool.allocate(16);
  EXPECT_EQ(first, b);
  EXPECT_EQ(second, a);
  pool.deallocate(first, 16);
  pool.deallocate(second, 16);
}

TEST(SlotRecyclerTest, BlocksBeyondAFullNodeAreRecycled) {
  SlotRecycler pool(Quiet(1000));
  void* a = pool.allocate(1000);  // 125 slots
  pool.deallocate(a, 1000);
  void* b = pool.allocate(1000);
  EXPECT_EQ(a, b);
  pool.deallocate(b, 1000);
  EXPECT_EQ(pool.stats().reused_allocations, 1u);
  EXPECT_EQ(pool.stats().slots_demanded, 125u);
}

// Blocks above the indexed sizes (4 KiB) have lists of their own, per slot count, as small ones
// do: a freed one comes back only for its own size, on both sides of the boundary.
TEST(SlotRecyclerTest, BlocksAboveTheIndexedSizesAreRecycledPerSize) {
  SlotRecycler pool(Quiet(1 << 20));
  void* big = pool.allocate(800'000);   // 100,000 slots
  void* other = pool.allocate(8'000);   // 1,000 slots
  void* last_indexed = pool.allocate(4'096);  // 512 slots: the largest in the index
  void* first_mapped = pool.allocate(4'104);  // 513 slots: the smallest in the map
  pool.deallocate(big, 800'000);
  pool.deallocate(other, 8'000);
  pool.deallocate(last_indexed, 4'096);
  pool.deallocate(first_mapped, 4'104);
  // Sizes next to the freed ones find no list of their own: fresh slots.
  void* fresh = pool.allocate(8'008);  // 1,001 slots
  void* fresh_513 = pool.allocate(4'112);  // 514 slots
  EXPECT_NE(fresh, other);
  EXPECT_NE(fresh_513, first_mapped);
  EXPECT_EQ(pool.allocate(4'104), first_mapped);
  EXPECT_EQ(pool.allocate(4'096), last_indexed);
  EXPECT_EQ(pool.allocate(8'000), other);
  EXPECT_EQ(pool.allocate(799'993), big);  // 100,000 slots, rounded up
  EXPECT_EQ(pool.stats().reused_allocations, 4u);
  EXPECT_EQ(pool.stats().slots_demanded, 100'000u + 1'000u + 512u + 513u + 1'001u + 514u);
  for (auto [p, bytes] : {std::pair{big, 799'993}, {other, 8'000}, {last_indexed, 4'096},
                          {first_mapped, 4'104}, {fresh, 8'008}, {fresh_513, 4'112}}) {
    pool.deallocate(p, static_cast<std::size_t>(bytes));
  }
}

// Moving a recycler moves its lists, the ones above the index included.
TEST(SlotRecyclerTest, MoveKeepsTheFreeListsOfEverySize) {
  SlotRecycler a(Quiet(1 << 16));
  void* small = a.allocate(64);
  void* large = a.allocate(40'000);  // 5,000 slots: in the map
  a.deallocate(small, 64);
  a.deallocate(large, 40'000);
  SlotRecycler b(Quiet(4));
  b = std::move(a);
  EXPECT_EQ(b.allocate(40'000), large);
  EXPECT_EQ(b.allocate(64), small);
  EXPECT_EQ(b.stats().reused_allocations, 2u);
  b.deallocate(large, 40'000);
  b.deallocate(small, 64);
}

TEST(SlotRecyclerTest, FallbackBlocksNeverEnterAFreeList) {
  SlotRecycler pool(Quiet(5));
  void* in_pool = pool.allocate(40);  // the whole pool
  void* fallback = pool.allocate(40);
  EXPECT_FALSE(pool.owns(fallback));
  pool.deallocate(fallback, 40);  // to free()
  void* again = pool.allocate(40);  // list for 5 slots is empty; pool full: falls back again
  EXPECT_FALSE(pool.owns(again));
  pool.deallocate(again, 40);
  pool.deallocate(in_pool, 40);
  void* reused = pool.allocate(40);
  EXPECT_EQ(reused, in_pool);
  pool.deallocate(reused, 40);
  const AllocStats& s = pool.stats();
  EXPECT_EQ(s.fallback_allocations, 2u);
  EXPECT_EQ(s.fallback_deallocations, 2u);
  EXPECT_EQ(s.reused_allocations, 1u);
  EXPECT_EQ(s.slots_demanded, 15u);
}

// Insert/erase churn around a live set: the recycler's fresh demand per size is the peak live count
// of that size times its slots; the bump pool's is everything it ever allocated.
TEST(SlotRecyclerTest, DemandTracksPeakLiveSizeUnderChurn) {
  constexpr std::size_t kSizes[] = {24, 40, 72, 136, 264};
  for (const bool mixed : {false, true}) {
    SCOPED_TRACE(mixed ? "mixed sizes" : "one size");
    SlotRecycler recycler(Quiet(1 << 20));
    BumpPool bump(Quiet(1 << 22));
    std::mt19937_64 rng(42);
    std::vector<std::pair<void*, std::size_t>> live_r, live_b;
    std::map<std::size_t, std::size_t> live_count, peak_count;
    std::size_t total_slots = 0, live_slots = 0, peak_live_slots = 0;
    auto insert = [&] {
      const std::size_t bytes = mixed ? kSizes[rng() % 5] : 40;
      live_r.emplace_back(recycler.allocate(bytes), bytes);
      live_b.emplace_back(bump.allocate(bytes), bytes);
      total_slots += SlotsFor(bytes);
      live_slots += SlotsFor(bytes);
      peak_live_slots = std::max(peak_live_slots, live_slots);
      peak_count[bytes] = std::max(peak_count[bytes], ++live_count[bytes]);
    };
    auto erase = [&] {
      const std::size_t i = rng() % live_r.size();
      std::swap(live_r[i], live_r.back());
      std::swap(live_b[i], live_b.back());
      recycler.deallocate(live_r.back().first, live_r.back().second);
      bump.deallocate(live_b.back().first, live_b.back().second);
      live_slots -= SlotsFor(live_r.back().second);
      --live_count[live_r.back().second];
      live_r.pop_back();
      live_b.pop_back();
    };
    for (int i = 0; i < 1000; ++i) insert();
    for (int i = 0; i < 20000; ++i) (rng() % 2 == 0 && live_r.size() > 1) ? erase() : insert();
    while (!live_r.empty()) erase();

    std::size_t expected_demand = 0;
    for (auto [bytes, peak] : peak_count) expected_demand += peak * SlotsFor(bytes);
    EXPECT_EQ(recycler.stats().slots_demanded, expected_demand);
    if (!mixed) {
      EXPECT_EQ(recycler.stats().slots_demanded, peak_live_slots);
    }
    EXPECT_EQ(recycler.stats().high_water_slots, expected_demand);
    std::size_t fresh_blocks = 0;
    for (auto [bytes, peak] : peak_count) fresh_blocks += peak;
    EXPECT_EQ(recycler.stats().reused_allocations, recycler.stats().allocations - fresh_blocks);
    EXPECT_EQ(bump.stats().slots_demanded, total_slots);
    EXPECT_EQ(recycler.stats().fallback_allocations, 0u);
    EXPECT_EQ(recycler.stats().live_bytes, 0u);
    EXPECT_EQ(recycler.stats().peak_live_bytes, bump.stats().peak_live_bytes);
    EXPECT_LT(recycler.stats().slots_demanded * 3, bump.stats().slots_demanded);
  }
}

}  // namespace
}  // namespace allocators
