// The timeline's counts and samples are deterministic and mean what the schema says they mean.
#include "experiments/memory_timeline/timeline.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/common/cells.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/shards.h"
#include "gtest/gtest.h"

namespace experiments::memory_timeline {
namespace {

using SF = schema::TimelineSample::Field;
using CF = schema::TimelineCell::Field;

CellSpec Spec(Workload workload, const std::string& policy, std::uint64_t n,
              std::uint64_t pool_slots, std::uint64_t every = 100) {
  return {.workload = workload, .policy = policy, .n = n, .sample_every = every,
          .pool_slots = pool_slots, .process_malloc = "glibc"};
}

TEST(Timeline, SamplesEveryKOperationsFromTheEmptyMapToTheLastOperation) {
  const CellResult r = RunCell(Spec(Workload::kBuild, "malloc", 1050, 0));
  ASSERT_EQ(r.samples.size(), 12u);  // 0, 100, ..., 1000, 1050
  for (std::size_t i = 0; i + 1 < r.samples.size(); ++i) {
    EXPECT_EQ(r.samples[i].Int(SF::kOpIndex), static_cast<std::int64_t>(100 * i));
    EXPECT_EQ(r.samples[i].Int(SF::kMapSize), static_cast<std::int64_t>(100 * i));
  }
  EXPECT_EQ(r.samples.back().Int(SF::kOpIndex), 1050);
  EXPECT_EQ(r.samples.front().Int(SF::kLiveBytes), 0);
  EXPECT_GT(r.samples.back().Int(SF::kLiveBytes), 1050 * 16);  // at least one key+value each
  EXPECT_TRUE(r.cell.IsNull(CF::kPoolSlots));
  EXPECT_TRUE(r.cell.IsNull(CF::kFirstFallbackOp));
  EXPECT_EQ(r.cell.Int(CF::kOperations), 1050);
}

TEST(Timeline, FirstFallbackIsTheOperationWhoseAllocationFellBack) {
  const CellResult r = RunCell(Spec(Workload::kBuild, "bump_pool", 5000, 4096, 1));
  ASSERT_FALSE(r.cell.IsNull(CF::kFirstFallbackOp));
  const std::int64_t first = r.cell.Int(CF::kFirstFallbackOp);
  ASSERT_GT(first, 0);
  // With a sample after every operation: none before `first`, one at it.
  EXPECT_EQ(r.samples[static_cast<std::size_t>(first) - 1].Int(SF::kFallbackAllocations), 0);
  EXPECT_GT(r.samples[static_cast<std::size_t>(first)].Int(SF::kFallbackAllocations), 0);
  EXPECT_EQ(r.cell.Int(CF::kPoolSlots), 4096);
  EXPECT_EQ(r.cell.Int(CF::kCapacitySlots), 4096);
  EXPECT_GT(r.cell.Int(CF::kSlotsDemanded), 4096);
}

TEST(Timeline, ChurnKeepsNKeysAndRecyclingKeepsDemandFlatWhileABumpPoolsKeepsGrowing) {
  const std::uint64_t n = 2000;
  const CellResult bump = RunCell(Spec(Workload::kChurn, "bump_pool", n, 1 << 20));
  const CellResult recycler = RunCell(Spec(Workload::kChurn, "slot_recycler", n, 1 << 20));
  EXPECT_EQ(bump.cell.Int(CF::kOperations), 3 * static_cast<std::int64_t>(n));
  auto demand_at = [](const CellResult& r, std::int64_t op) {
    for (const SampleRecord& s : r.samples) {
      if (s.Int(SF::kOpIndex) == op) return s.Int(SF::kSlotsDemanded);
    }
    ADD_FAILURE() << "no sample at " << op;
    return std::int64_t{0};
  };
  for (const SampleRecord& s : bump.samples) {
    if (s.Int(SF::kOpIndex) >= static_cast<std::int64_t>(n)) {
      EXPECT_GE(s.Int(SF::kMapSize), static_cast<std::int64_t>(n) - 1);
    }
  }
  const std::int64_t built = static_cast<std::int64_t>(n);
  const std::int64_t end = 3 * built;
  // A bump pool never reuses: churn demands about as much again as the build did.
  const std::int64_t bump_churn = demand_at(bump, end) - demand_at(bump, built);
  EXPECT_GT(bump_churn, demand_at(bump, built) / 2);
  // The recycler serves most of churn from its free lists (fresh demand only where the trie's
  // shape, and so its mix of node sizes, changes).
  const std::int64_t recycler_churn = demand_at(recycler, end) - demand_at(recycler, built);
  EXPECT_LT(recycler_churn * 4, bump_churn);
  // Same map, same operations: the same bytes live at the end.
  EXPECT_EQ(bump.samples.back().Int(SF::kLiveBytes), recycler.samples.back().Int(SF::kLiveBytes));
}

TEST(Timeline, PersistentUpdatesCopyPathsThatTheDroppedVersionsGiveBack) {
  const std::uint64_t n = 2000;
  const CellResult churn = RunCell(Spec(Workload::kChurn, "bump_pool", n, 1 << 22));
  const CellResult persistent = RunCell(Spec(Workload::kPersistent, "bump_pool", n, 1 << 22));
  const CellResult recycled = RunCell(Spec(Workload::kPersistent, "slot_recycler", n, 1 << 22));
  EXPECT_EQ(persistent.cell.Int(CF::kOperations), 3 * static_cast<std::int64_t>(n));
  EXPECT_EQ(persistent.samples.back().Int(SF::kMapSize), static_cast<std::int64_t>(n));
  // Every update copies a whole path instead of one node: a bump pool's demand grows faster.
  EXPECT_GT(persistent.cell.Int(CF::kSlotsDemanded), 2 * churn.cell.Int(CF::kSlotsDemanded));
  // Only the newest version is kept, so what stays live is one map's worth (plus 8 bytes per node
  // for the reference count), not the sum of every version's paths.
  EXPECT_LT(persistent.samples.back().Int(SF::kLiveBytes),
            2 * churn.samples.back().Int(SF::kLiveBytes));
  // The recycler serves the copies from the freed paths.
  EXPECT_LT(recycled.cell.Int(CF::kSlotsDemanded) * 4, persistent.cell.Int(CF::kSlotsDemanded));
}

TEST(Timeline, RssFollowsWhatThePolicyHoldsAndWhatTeardownReturns) {
  const CellResult malloc = RunCell(Spec(Workload::kBuild, "malloc", 200000, 0, 10000));
  const std::int64_t start = malloc.cell.Int(CF::kAnonRssStartKb);
  EXPECT_GT(start, 0);
  // The map's nodes are resident: at least half of its peak live bytes show as growth.
  EXPECT_GE(malloc.cell.Int(CF::kAnonRssEndKb) - start,
            malloc.cell.Int(CF::kPeakLiveBytes) / 1024 / 2);
  EXPECT_EQ(malloc.samples.back().Int(SF::kAnonRssGrowthKb),
            malloc.samples.back().Int(SF::kAnonRssKb) - start);
  EXPECT_GE(malloc.cell.Int(CF::kAnonRssPeakKb), malloc.cell.Int(CF::kAnonRssEndKb));
  EXPECT_GT(malloc.cell.Int(CF::kMinorFaults), 0);
  // A growing pool's chunks are unmapped with it: teardown gives back most of what it held.
  const CellResult pool = RunCell(Spec(Workload::kBuild, "growing_pool", 200000, 4096, 10000));
  const std::int64_t held = pool.cell.Int(CF::kAnonRssEndKb) - pool.cell.Int(CF::kAnonRssStartKb);
  EXPECT_GT(held, pool.cell.Int(CF::kPeakLiveBytes) / 1024 / 2);
  EXPECT_LT(pool.cell.Int(CF::kRetainedKb) * 4, held);
  EXPECT_EQ(pool.cell.Int(CF::kRetainedKb), pool.cell.Int(CF::kAnonRssAfterTeardownKb) -
                                                pool.cell.Int(CF::kAnonRssStartKb));
}

TEST(Timeline, AGrowingPoolAddsChunksInsteadOfFallingBack) {
  const CellResult r = RunCell(Spec(Workload::kBuild, "growing_pool", 20000, 4096));
  EXPECT_TRUE(r.cell.IsNull(CF::kFirstFallbackOp));
  EXPECT_EQ(r.cell.Int(CF::kFallbackAllocations), 0);
  EXPECT_GT(r.cell.Int(CF::kPoolChunks), 1);
  EXPECT_GE(r.cell.Int(CF::kCapacitySlots), r.cell.Int(CF::kSlotsDemanded));
}

TEST(Timeline, AReportAndASpecSurviveTheirRoundTrips) {
  const CellSpec spec = Spec(Workload::kChurn, "slot_recycler", 3000, 8192, 250);
  const CellResult here = RunCell(spec);
  const CellResult back = CellResult::Deserialize(here.Serialize());
  EXPECT_TRUE(back.cell == here.cell);
  ASSERT_EQ(back.samples.size(), here.samples.size());
  for (std::size_t i = 0; i < here.samples.size(); ++i) {
    EXPECT_TRUE(back.samples[i] == here.samples[i]) << "sample " << i;
  }
  const CellSpec decoded = DecodeSpec(EncodeSpec(spec));
  EXPECT_EQ(decoded.workload, spec.workload);
  EXPECT_EQ(decoded.policy, spec.policy);
  EXPECT_EQ(decoded.n, spec.n);
  EXPECT_EQ(decoded.sample_every, spec.sample_every);
  EXPECT_EQ(decoded.pool_slots, spec.pool_slots);
  EXPECT_EQ(decoded.process_malloc, spec.process_malloc);
}

TEST(Timeline, ABadSpecIsRefusedNamingTheProblem) {
  EXPECT_THROW(DecodeSpec("build,malloc,10"), std::invalid_argument);
  EXPECT_THROW(DecodeSpec("steady,malloc,10,1,0,glibc"), std::invalid_argument);
  EXPECT_THROW(DecodeSpec("build,malloc,ten,1,0,glibc"), std::invalid_argument);
  EXPECT_THROW(DecodeSpec("build,malloc,10,0,0,glibc"), std::invalid_argument);
  EXPECT_THROW(DecodeSpec("build,nope,10,1,0,glibc"), std::invalid_argument);
  EXPECT_THROW(DecodeSpec("build,malloc,10,1,0,musl"), std::invalid_argument);
  EXPECT_THROW(RunCell(Spec(Workload::kBuild, "no_such_policy", 10, 0)), std::invalid_argument);
}

TEST(Timeline, AFailingCellProcessIsReportedNamingTheCell) {
  // A program that is not this one: the error names the cell and what the child said.
  try {
    const CellSpec spec = Spec(Workload::kBuild, "malloc", 10, 0);
    RunCellInChild<CellResult>(CellName(spec), "/bin/false", EncodeSpec(spec), nullptr);
    FAIL() << "no error";
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("build/malloc/n=10"), std::string::npos) << what;
    EXPECT_NE(what.find("exit status 1"), std::string::npos) << what;
  }
}

TEST(Timeline, ABadReportIsASchemaError) {
  EXPECT_THROW(CellResult::Deserialize("{\"cell\": 1}"), SchemaError);
  EXPECT_THROW(CellResult::Deserialize("not json"), SchemaError);
}

Settings SmallGrid() {
  Settings settings;
  settings.ns = {500, 900};
  settings.workloads = {Workload::kBuild, Workload::kChurn};
  settings.policies = {"malloc", "bump_pool"};
  settings.samples = 4;
  settings.pool_slots = 4096;
  return settings;
}

// Shard `shard` of `settings` measured as the program does, with its metadata.
Results MeasuredShard(Settings settings, const Shard& shard) {
  settings.shard = ShardName(shard);
  const std::vector<CellSpec> plan = PlanCells(settings, "glibc");
  std::vector<std::uint64_t> costs;
  for (const CellSpec& spec : plan) costs.push_back(CellCost(spec));
  Results results;
  for (std::size_t item : ItemsOf(shard, costs)) {
    CellResult r = RunCell(plan[item]);
    results.cells.push_back(r.cell);
    results.samples.insert(results.samples.end(), r.samples.begin(), r.samples.end());
  }
  char arg[] = "test";
  char* argv[] = {arg};
  results.metadata = NewRunMetadata("memory_timeline", "default", "r", 1, argv, settings.ToJson());
  results.metadata.Set(schema::RunMetadata::Field::kComplete, true);
  return results;
}

TEST(Timeline, SettingsSurviveTheirRoundTripThroughTheRecordedConfig) {
  Settings settings = SmallGrid();
  settings.shard = "1/3";
  const Settings back = SettingsFromJson(settings.ToJson());
  EXPECT_EQ(back.ToJson(), settings.ToJson());
  nlohmann::ordered_json damaged = settings.ToJson();
  damaged.erase("samples");
  EXPECT_THROW(SettingsFromJson(damaged), SchemaError);
}

TEST(Timeline, ShardsMergeToThePlanInOrderAndRefuseWhatDoesNotFit) {
  const Settings settings = SmallGrid();
  std::vector<std::string> planned;
  for (const CellSpec& spec : PlanCells(settings, "")) planned.push_back(CellName(spec));
  ASSERT_EQ(planned.size(), 8u);
  const Results a = MeasuredShard(settings, {0, 2}), b = MeasuredShard(settings, {1, 2});
  ASSERT_FALSE(a.cells.empty());
  ASSERT_FALSE(b.cells.empty());
  const auto name = [](const auto& record) { return CellName(record); };
  std::vector<std::string> notes;
  const Results merged = MergeCellShards<schema::TimelineCell, schema::TimelineSample>(
      {{"b", b}, {"a", a}}, planned, name, notes);
  ASSERT_EQ(merged.cells.size(), planned.size());
  std::size_t sample = 0;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    EXPECT_EQ(CellName(merged.cells[i]), planned[i]);
    // Each cell's samples follow in order, from op 0.
    ASSERT_LT(sample, merged.samples.size());
    EXPECT_EQ(CellName(merged.samples[sample]), planned[i]);
    EXPECT_EQ(merged.samples[sample].Int(SF::kOpIndex), 0);
    while (sample < merged.samples.size() && CellName(merged.samples[sample]) == planned[i]) {
      ++sample;
    }
  }
  EXPECT_EQ(sample, merged.samples.size());
  EXPECT_EQ(merged.samples.size(), a.samples.size() + b.samples.size());

  auto refusal = [&](const Results& x, const Results& y) -> std::string {
    std::vector<std::string> ignored;
    try {
      MergeCellShards<schema::TimelineCell, schema::TimelineSample>({{"a", x}, {"b", y}}, planned,
                                                                    name, ignored);
    } catch (const MergeError& error) {
      return error.what();
    }
    return "accepted";
  };
  Results twice = b;
  twice.cells.push_back(a.cells.front());
  EXPECT_EQ(refusal(a, twice), absl::StrCat("the cell ", CellName(a.cells.front()),
                                            " was measured by a and by b"));
  Results lacking = b;
  const std::string dropped = CellName(lacking.cells.back());
  lacking.cells.pop_back();
  std::erase_if(lacking.samples, [&](const SampleRecord& s) { return CellName(s) == dropped; });
  EXPECT_NE(refusal(a, lacking).find("is missing from every shard"), std::string::npos);
  Results stray = b;
  stray.samples.push_back(a.samples.front());
  EXPECT_NE(refusal(a, stray).find("b: a sample of " + CellName(a.samples.front()) +
                                   ", a cell this shard did not measure"),
            std::string::npos);
  Results jemalloc = b;
  for (CellRecord& c : jemalloc.cells) c.Set(CF::kProcessMalloc, "jemalloc");
  EXPECT_NE(refusal(a, jemalloc).find("different process mallocs"), std::string::npos);
}

}  // namespace
}  // namespace experiments::memory_timeline
