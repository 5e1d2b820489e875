// The persistent-churn cell's counts are deterministic and mean what the schema says they mean.
#include "experiments/persistent_churn/churn.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "gtest/gtest.h"

namespace experiments::persistent_churn {
namespace {

using CF = schema::ChurnCell::Field;
using SF = schema::ChurnSample::Field;

CellSpec Spec(Retention retention, const std::string& policy, std::uint64_t n = 3000,
              std::uint64_t pool_slots = 0, std::uint64_t every = 100) {
  return {.retention = retention, .policy = policy, .n = n, .updates = n, .history = 8,
          .sample_every = every, .pool_slots = pool_slots, .process_malloc = "glibc"};
}

TEST(Churn, TheSameCellCountsTheSameTwice) {
  const CellResult a = RunCell(Spec(Retention::kRandom, "slot_recycler", 3000, 1 << 16));
  const CellResult b = RunCell(Spec(Retention::kRandom, "slot_recycler", 3000, 1 << 16));
  for (CF f : {CF::kAllocationsPerUpdate, CF::kFreesPerUpdate, CF::kBytesPerUpdate,
               CF::kUpdateSlotsDemanded, CF::kLiveBytesEnd, CF::kPeakLiveBytes}) {
    EXPECT_EQ(a.cell.Float(f), b.cell.Float(f)) << CellRecord::Spec(f).name;
  }
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i) {
    EXPECT_EQ(a.samples[i].Int(SF::kAllocatedSlots), b.samples[i].Int(SF::kAllocatedSlots));
    EXPECT_EQ(a.samples[i].Int(SF::kPoolSlotsDemanded), b.samples[i].Int(SF::kPoolSlotsDemanded));
  }
}

TEST(Churn, SamplesRunFromTheBuiltMapToTheLastUpdate) {
  const CellResult r = RunCell(Spec(Retention::kNewest, "malloc", 1050));
  ASSERT_EQ(r.samples.size(), 12u);  // 0, 100, ..., 1000, 1050
  EXPECT_EQ(r.samples.front().Int(SF::kUpdateIndex), 0);
  EXPECT_EQ(r.samples.front().Int(SF::kAllocatedSlots), 0);
  EXPECT_TRUE(r.samples.front().IsNull(SF::kPoolSlotsDemanded));
  EXPECT_EQ(r.samples.back().Int(SF::kUpdateIndex), 1050);
  EXPECT_TRUE(r.cell.IsNull(CF::kPoolSlots));
  EXPECT_TRUE(r.cell.IsNull(CF::kUpdateSlotsDemanded));
  EXPECT_TRUE(r.cell.IsNull(CF::kUpdatesToExhaust));
  EXPECT_EQ(r.cell.Int(CF::kUpdates), 1050);
}

// A persistent update copies the key's whole path; in place, only the node that changes (and not
// even that on an overwrite). Keeping only the newest version frees as much as it allocates.
TEST(Churn, APersistentUpdateCopiesAPathAndTheNewestAloneFreesIt) {
  const CellResult in_place = RunCell(Spec(Retention::kInPlace, "malloc", 20000));
  const CellResult newest = RunCell(Spec(Retention::kNewest, "malloc", 20000));
  EXPECT_LT(in_place.cell.Float(CF::kAllocationsPerUpdate), 1.0);
  EXPECT_GT(newest.cell.Float(CF::kAllocationsPerUpdate), 2.0);  // a 20K-key trie: 3+ levels
  EXPECT_NEAR(newest.cell.Float(CF::kFreesPerUpdate),
              newest.cell.Float(CF::kAllocationsPerUpdate), 0.05);
  EXPECT_EQ(newest.cell.Int(CF::kVersionsEnd), 1);
  // The target: within 5% of the path the analytic demand model predicts.
  EXPECT_NEAR(newest.cell.Float(CF::kAllocationsPerUpdate), newest.cell.Float(CF::kModelPathNodes),
              0.05 * newest.cell.Float(CF::kModelPathNodes));
  // Both end with the same keys in a trie of the same shape: the persistent one holds only its
  // nodes' reference counts more (one word per node), nothing of the versions it dropped.
  EXPECT_GE(newest.cell.Int(CF::kLiveBytesEnd), in_place.cell.Int(CF::kLiveBytesEnd));
  EXPECT_LT(newest.cell.Float(CF::kLiveBytesEnd), 1.2 * in_place.cell.Float(CF::kLiveBytesEnd));
}

TEST(Churn, KeepingOlderVersionsKeepsTheirPathsLive) {
  const CellResult newest = RunCell(Spec(Retention::kNewest, "malloc"));
  const CellResult last = RunCell(Spec(Retention::kLastH, "malloc"));
  const CellResult random = RunCell(Spec(Retention::kRandom, "malloc"));
  EXPECT_EQ(last.cell.Int(CF::kVersionsEnd), 8);
  EXPECT_EQ(random.cell.Int(CF::kVersionsEnd), 8);
  EXPECT_EQ(last.cell.Int(CF::kHistory), 8);
  EXPECT_EQ(newest.cell.Int(CF::kHistory), 1);
  EXPECT_GT(last.cell.Int(CF::kLiveBytesEnd), newest.cell.Int(CF::kLiveBytesEnd));
  EXPECT_GT(random.cell.Int(CF::kLiveBytesEnd), newest.cell.Int(CF::kLiveBytesEnd));
  // The same updates allocate the same paths whatever is kept.
  EXPECT_EQ(last.cell.Float(CF::kAllocationsPerUpdate),
            newest.cell.Float(CF::kAllocationsPerUpdate));
}

// slots_per_update is bytes / 8, which a pool's own telemetry must match exactly (every node size
// is a multiple of 8 bytes), and updates_to_exhaust counts the updates served before the one whose
// demand went past the pool.
TEST(Churn, ExhaustionIsTheFirstUpdateWhoseDemandPassesThePool) {
  const CellResult r = RunCell(Spec(Retention::kNewest, "bump_pool", 3000, 4096, 1));
  ASSERT_FALSE(r.cell.IsNull(CF::kUpdatesToExhaust));
  const std::int64_t at = r.cell.Int(CF::kUpdatesToExhaust);
  ASSERT_GT(at, 0);
  ASSERT_LT(at, 3000);
  // After `at` updates the demand still fits; the next update's goes past.
  EXPECT_LE(r.samples[static_cast<std::size_t>(at)].Int(SF::kPoolSlotsDemanded), 4096);
  EXPECT_GT(r.samples[static_cast<std::size_t>(at) + 1].Int(SF::kPoolSlotsDemanded), 4096);
  EXPECT_EQ(r.cell.Int(CF::kUpdateSlotsDemanded), r.samples.back().Int(SF::kPoolSlotsDemanded));
  // A bump pool demands fresh slots for every byte: exactly allocated_slots.
  for (const SampleRecord& s : r.samples) {
    EXPECT_EQ(s.Int(SF::kPoolSlotsDemanded), s.Int(SF::kAllocatedSlots));
  }
  EXPECT_DOUBLE_EQ(r.cell.Float(CF::kSlotsPerUpdate) * 3000,
                   static_cast<double>(r.cell.Int(CF::kUpdateSlotsDemanded)));
  EXPECT_GT(r.cell.Int(CF::kFallbackAllocations), 0);  // the pool was exhausted by the build
}

// A recycler serves each update's path from the path the previous update freed; a bump pool
// demands fresh slots for every one.
TEST(Churn, ARecyclerReusesThePathsThatTheNewestRetentionFrees) {
  const CellResult bump = RunCell(Spec(Retention::kNewest, "bump_pool", 3000, 1 << 20));
  const CellResult recycler = RunCell(Spec(Retention::kNewest, "slot_recycler", 3000, 1 << 20));
  EXPECT_EQ(bump.cell.Int(CF::kFallbackAllocations), 0);
  EXPECT_GT(bump.cell.Int(CF::kUpdateSlotsDemanded), 10 * recycler.cell.Int(CF::kUpdateSlotsDemanded));
  EXPECT_TRUE(recycler.cell.IsNull(CF::kUpdatesToExhaust));
}

TEST(Churn, SpecsRoundTripAndBadOnesAreRefused) {
  const CellSpec spec = Spec(Retention::kLastH, "slot_recycler", 123, 4096, 7);
  const CellSpec back = DecodeSpec(EncodeSpec(spec));
  EXPECT_EQ(EncodeSpec(back), EncodeSpec(spec));
  EXPECT_EQ(EncodeSpec(spec), "last_h,slot_recycler,123,123,8,7,4096,glibc");
  for (const char* bad : {"", "newest,malloc,1,1,1,1,0", "sometimes,malloc,1,1,1,1,0,glibc",
                          "newest,nope,1,1,1,1,0,glibc", "newest,malloc,0,1,1,1,0,glibc",
                          "newest,malloc,1,x,1,1,0,glibc", "newest,malloc,1,1,0,1,0,glibc",
                          "newest,malloc,1,1,1,0,0,glibc", "newest,malloc,1,1,1,1,0,musl"}) {
    EXPECT_THROW(DecodeSpec(bad), std::invalid_argument) << bad;
  }
}

TEST(Churn, TheReportRoundTrips) {
  const CellResult here = RunCell(Spec(Retention::kRandom, "malloc", 500, 0, 50));
  const CellResult back = CellResult::Deserialize(here.Serialize());
  EXPECT_EQ(back.cell.Json(), here.cell.Json());
  ASSERT_EQ(back.samples.size(), here.samples.size());
  EXPECT_THROW(CellResult::Deserialize("{\"cell\": 1}"), SchemaError);
}

}  // namespace
}  // namespace experiments::persistent_churn
