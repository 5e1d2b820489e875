// Unit tests of the study's parts: measurement, records, plan, findings and sizing. The binary,
// its files and flags are tested end to end by cli_test.sh and //analysis:report_test.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "experiments/common/flags.h"
#include "experiments/common/run_metadata.h"
#include "experiments/pool_exhaustion/finding4_map.h"
#include "experiments/pool_exhaustion/findings.h"
#include "experiments/pool_exhaustion/measure.h"
#include "experiments/pool_exhaustion/plan.h"
#include "experiments/pool_exhaustion/records.h"
#include "experiments/pool_exhaustion/shards.h"
#include "experiments/pool_exhaustion/sizing.h"
#include "gtest/gtest.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;

std::string ReadReferenceText() {
  std::ifstream in("experiments/reference/pool_exhaustion_reference.csv");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// One demand model for every test (building one tabulates its urn chains, ~70 ms).
const Predictor& SharedPredictor() {
  static const Predictor predictor;
  return predictor;
}

CellRecord Measure(Policy policy, std::uint64_t n, std::uint64_t pool, int reps = 1,
                   std::uint64_t seed = 0) {
  const Cell cell{policy, n, pool, kLazyPages, seed};
  return MakeCellRecord(MeasureCell(cell, reps), kGrid, reps,
                        SharedPredictor().For(policy, n, pool));
}

TEST(MeasureTest, CountsAreDeterministic) {
  const Measurement first = MeasureCell({Policy::kBumpPool, 5000, 16384, kLazyPages, 0}, 2);
  const Measurement second = MeasureCell({Policy::kBumpPool, 5000, 16384, kLazyPages, 0}, 1);
  EXPECT_EQ(first.stats, second.stats);
  EXPECT_GT(first.stats.fallback_allocations, 0u);
  EXPECT_EQ(first.insert_ns.size(), 2u);
}

TEST(MeasureTest, SeedsChangeTheTrieNotTheMap) {
  const Measurement a = MeasureCell({Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 0}, 1);
  const Measurement b = MeasureCell({Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 7}, 1);
  EXPECT_NE(a.stats.slots_demanded, b.stats.slots_demanded);
  EXPECT_EQ(b.stats.live_bytes > 0, true);
}

TEST(MeasureTest, FirstAllocationThatDoesNotFitFallsBack) {
  constexpr std::uint64_t kPool = 4096;
  const std::uint64_t largest = LargestNWithoutFallback(Policy::kBumpPool, kPool, 1'000'000,
                                                        std::string(allocators::kDefaultFallback));
  ASSERT_GT(largest, 10u);
  ASSERT_LT(largest, 1'000'000u);
  const Measurement fits = MeasureCell({Policy::kBumpPool, largest, kPool, kLazyPages, 0}, 1);
  const Measurement over = MeasureCell({Policy::kBumpPool, largest + 1, kPool, kLazyPages, 0}, 1);
  EXPECT_EQ(fits.stats.fallback_allocations, 0u);
  EXPECT_LE(fits.stats.slots_demanded, kPool);
  EXPECT_GT(over.stats.fallback_allocations, 0u);
  // Before the first fallback the pool handed out exactly what was demanded.
  EXPECT_EQ(fits.stats.high_water_slots, fits.stats.slots_demanded);
}

TEST(MeasureTest, BumpDemandDoesNotDependOnThePool) {
  const Measurement small = MeasureCell({Policy::kBumpPool, 3000, 1024, kLazyPages, 0}, 1);
  const Measurement large = MeasureCell({Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 0}, 1);
  EXPECT_EQ(small.stats.slots_demanded, large.stats.slots_demanded);
  EXPECT_EQ(small.stats.allocations, large.stats.allocations);
  EXPECT_EQ(large.stats.fallback_allocations, 0u);
}

// A lazily mapped pool is faulted in by the build; a prefaulted one was before it. Huge pages
// change where the pool lives, not what the map asks of it.
TEST(MeasureTest, PageFaultsAndHugePagesAreMeasuredPerCell) {
  Cell lazy{Policy::kBumpPool, 20000, 1 << 22, kLazyPages, 0};
  Cell prefaulted = lazy;
  prefaulted.pages.prefault = true;
  Cell huge = lazy;
  huge.pages.huge = true;
  const Measurement l = MeasureCell(lazy, 1);
  const Measurement p = MeasureCell(prefaulted, 1);
  const Measurement h = MeasureCell(huge, 1);
  ASSERT_EQ(l.minor_faults_per_insert.size(), 1u);
  EXPECT_GT(l.minor_faults_per_insert[0], p.minor_faults_per_insert[0]);
  EXPECT_GE(h.anon_huge_kb, 0);  // readable; whether the kernel granted any is its choice
  EXPECT_EQ(h.stats, l.stats);
}

TEST(MeasureTest, RecyclerDemandStaysNearLiveSize) {
  const Measurement recycler = MeasureCell({Policy::kSlotRecycler, 20000, 1 << 22, kLazyPages, 0}, 1);
  const Measurement bump = MeasureCell({Policy::kBumpPool, 20000, 1 << 22, kLazyPages, 0}, 1);
  ASSERT_EQ(recycler.stats.fallback_allocations, 0u);
  EXPECT_GT(recycler.stats.reused_allocations, 0u);
  EXPECT_LE(static_cast<double>(recycler.stats.slots_demanded),
            2.0 * static_cast<double>(recycler.stats.peak_live_bytes) / 8.0);
  EXPECT_LT(recycler.stats.slots_demanded * 3, bump.stats.slots_demanded);
  EXPECT_EQ(recycler.stats.live_bytes, bump.stats.live_bytes);
}

TEST(RecordsTest, ACellRecordCarriesTheTelemetry) {
  const Measurement m = MeasureCell({Policy::kSlotRecycler, 2000, 4096, kLazyPages, 0}, 2);
  // The model's prediction travels with the measurement.
  const CellRecord r = MakeCellRecord(m, kGrid, 2, SharedPredictor().For(Policy::kSlotRecycler, 2000, 4096));
  EXPECT_EQ(r.Count(F::kSlotsDemanded), m.stats.slots_demanded);
  EXPECT_EQ(r.Count(F::kFallbackAllocations), m.stats.fallback_allocations);
  EXPECT_EQ(r.Count(F::kFrees), m.stats.deallocations);
  EXPECT_EQ(r.Reps(F::kInsertNsReps), m.insert_ns);
  EXPECT_EQ(r.Float(F::kInsertNsPerOp), Median(m.insert_ns));
  EXPECT_DOUBLE_EQ(r.Float(F::kSlotsPerEntry), m.stats.slots_demanded / 2000.0);
  EXPECT_EQ(CellOf(r), m.cell);
  EXPECT_NEAR(r.Float(F::kModelAllocations), r.Float(F::kAllocations), 0.1 * r.Float(F::kAllocations));
  // The demand model's expectation sits beside the measurement (one trie: within a few percent).
  const CellRecord bump = Measure(Policy::kBumpPool, 20000, 1 << 22);
  EXPECT_NEAR(bump.Float(F::kModelSlotsDemanded), bump.Float(F::kSlotsDemanded),
              0.05 * bump.Float(F::kSlotsDemanded));
  EXPECT_EQ(bump.Float(F::kModelFallbackPct), 0.0);
  // A malloc row has no pool, so no utilization: empty, not inf.
  const CellRecord malloc_row = Measure(Policy::kMalloc, 100, 0);
  EXPECT_TRUE(malloc_row.IsNull(F::kUtilizationPct));
  const CellRecord zero_pool = Measure(Policy::kBumpPool, 100, 0);
  EXPECT_TRUE(zero_pool.IsNull(F::kUtilizationPct));
  EXPECT_EQ(zero_pool.Float(F::kFallbackPct), 100.0);
}

TEST(RecordsTest, ResultsRoundTripAndRejectDuplicates) {
  Results results;
  results.metadata.Set(schema::RunMetadata::Field::kExperiment, "x");
  using M = schema::RunMetadata::Field;
  results.metadata.Set(M::kSchemaVersion, schema::kVersion)
      .Set(M::kMode, "default").Set(M::kRunId, "r").Set(M::kDate, "d").Set(M::kGitCommit, "c")
      .Set(M::kCompiler, "g").Set(M::kBuildFlags, "b").Set(M::kCpuModel, "m").Set(M::kCpuCount, 2)
      .Set(M::kKernel, "k").Set(M::kProcessMalloc, "glibc").Set(M::kLibc, "glibc 2.36")
      .Set(M::kHost, "h").Set(M::kArgv, std::vector<std::string>{"a"})
      .Set(M::kConfig, nlohmann::ordered_json::object()).Set(M::kComplete, true)
      .Set(M::kSessions, 1).Set(M::kDurationSeconds, 1.5);
  results.rows.push_back(Measure(Policy::kBumpPool, 1000, 4096));
  results.capacities.push_back(MakeCapacityRecord(Policy::kBumpPool, 4096, 190, 1000, "malloc"));
  const nlohmann::ordered_json json = ToJson(results);
  const Results back = ResultsFromJson(json);
  ASSERT_EQ(back.rows.size(), 1u);
  EXPECT_EQ(back.rows[0], results.rows[0]);
  EXPECT_EQ(back.capacities[0], results.capacities[0]);
  nlohmann::ordered_json twice = json;
  twice["rows"].push_back(twice["rows"][0]);
  try {
    ResultsFromJson(twice);
    FAIL() << "a duplicated row was accepted";
  } catch (const SchemaError& error) {
    EXPECT_NE(std::string(error.what()).find("rows[1]: duplicate of rows[0]"), std::string::npos)
        << error.what();
  }
  nlohmann::ordered_json unknown = json;
  unknown["sizing"] = 1;
  EXPECT_THROW(ResultsFromJson(unknown), SchemaError);
}

TEST(ReferenceTest, FindingsQuoteTheReferenceFilesOnly) {
  const Reference reference = ReadReference("experiments/reference");
  ASSERT_EQ(reference.costs.size(), 2u);
  Results results;
  results.allocation_costs = {
      MakeCostRecord(CostPattern::kBatch, ServedBy::kBump, 136, 1000, {3.0}, "malloc"),
      MakeCostRecord(CostPattern::kBatch, ServedBy::kFallback, 136, 1000, {300.0}, "malloc")};
  using G = schema::Finding::Field;
  EXPECT_NE(JudgeFindings(results, reference)[4].Str(G::kSummary).find("Reference: bump ~2 ns, "
                                                                      "fallback ~150 ns (x75)"),
            std::string::npos);
  EXPECT_EQ(JudgeFindings(results, Reference{})[4].Str(G::kSummary).find("Reference"),
            std::string::npos);
}

TEST(ReferenceTest, ParsesTheStudyAndNamesBadLines) {
  const std::vector<ReferenceRecord> reference =
      ParseReferenceCsv<schema::ReferenceRow>(ReadReferenceText());
  ASSERT_EQ(reference.size(), 8u);
  const ReferenceRecord* r = FindReference(reference, 100000, 65536);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->Float(schema::ReferenceRow::Field::kFallbackAllocations), 683500);
  try {
    ParseReferenceCsv<schema::ReferenceRow>("# comment\nn,pool_slots,slots_demanded,utilization_pct,fallback_pct,"
                   "total_allocations,fallback_allocations,insert_ns_per_op,query_ns_per_op\n"
                   "1000,65536,x,,,,,,\n");
    FAIL();
  } catch (const SchemaError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("line 3: column slots_demanded", 0), 0u)
        << error.what();
  }
}

TEST(PlanTest, DuplicateFreeGridInTableOrder) {
  Config config;
  config.ns = {1000, 2000};
  config.pools = {64, 128};
  config.policies = {Policy::kBumpPool, Policy::kMalloc};
  const std::vector<Cell> cells = GridCells(config);
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(cells[0], (Cell{Policy::kBumpPool, 1000, 64, kLazyPages, 0}));
  EXPECT_EQ(cells[2], (Cell{Policy::kMalloc, 1000, 0, kLazyPages, 0}));
}

TEST(PlanTest, VerificationPoolIsTheModelsRecommendation) {
  std::vector<CellRecord> rows = {Measure(Policy::kBumpPool, 1000, 64),
                                  Measure(Policy::kBumpPool, 8000, 64)};
  const auto cell = VerificationCell(rows, 20, SharedPredictor());
  ASSERT_TRUE(cell.has_value());
  EXPECT_EQ(cell->n, 8000u);
  // Sized before the build, from the model: the measured demand does not enter.
  EXPECT_EQ(cell->pool_slots, SharedPredictor().RecommendedSlots(Policy::kBumpPool, 8000, 20));
  rows[1].Set(F::kSlotsDemanded, 1);
  EXPECT_EQ(VerificationCell(rows, 20, SharedPredictor())->pool_slots, cell->pool_slots);
  EXPECT_FALSE(VerificationCell({Measure(Policy::kMalloc, 1000, 0)}, 20, SharedPredictor()));
}

TEST(PlanTest, SeedsOtherThanZeroAreCountedOnce) {
  Config config;
  config.ns = {1000};
  config.pools = {64};
  config.policies = {Policy::kBumpPool, Policy::kMalloc};
  config.seeds = 3;
  const std::vector<Cell> cells = GridCells(config);
  ASSERT_EQ(cells.size(), 4u);  // malloc has no pool: seed 0 only
  EXPECT_EQ(cells[3].seed, 2u);
  EXPECT_EQ(RepetitionsFor(cells[0], 5), 5);
  EXPECT_EQ(RepetitionsFor(cells[3], 5), 1);
}

TEST(PlanTest, ConfigDifferenceNamesTheFlag) {
  Config a;
  a.ns = {1000, 10000};
  Config b = a;
  EXPECT_FALSE(ConfigDifference(a.ToJson(), b.ToJson()).has_value());
  b.ns = {1000};
  const auto difference = ConfigDifference(a.ToJson(), b.ToJson());
  ASSERT_TRUE(difference.has_value());
  EXPECT_EQ(*difference, "--n: '1000,10000' then, '1000' now");
  b = a;
  b.repetitions = 3;
  EXPECT_EQ(ConfigDifference(a.ToJson(), b.ToJson())->rfind("--repetitions", 0), 0u);
}

TEST(PlanTest, MemoryIsCheckedAgainstTheAddressSpaceLimit) {
  Config config;
  config.ns = {50'000'000};
  config.pools = {65536};
  config.policies = {Policy::kBumpPool};
  const pid_t child = ::fork();
  if (child == 0) {
    const rlimit limit{2ull << 30, 2ull << 30};
    ::setrlimit(RLIMIT_AS, &limit);
    try {
      CheckMemory(config);
    } catch (const UsageError& error) {
      const std::string what = error.what();
      ::_exit(error.flag() == "n" && what.find("ulimit -v") != std::string::npos &&
                      what.find("verification") != std::string::npos
                  ? 0
                  : 3);
    }
    ::_exit(4);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  config.ns = {1000};
  EXPECT_NO_THROW(CheckMemory(config));
}

TEST(FindingsTest, EveryFindingSaysWhatItNeedsWhenCellsAreMissing) {
  Results results;
  results.rows.push_back(Measure(Policy::kMalloc, 1000, 0));
  const std::vector<FindingRecord> findings = JudgeFindings(results, Reference{});
  ASSERT_EQ(findings.size(), 6u);
  using G = schema::Finding::Field;
  for (const FindingRecord& f : findings) {
    EXPECT_EQ(f.Str(G::kVerdict), "not_judged") << f.Int(G::kId);
    EXPECT_FALSE(f.IsNull(G::kNeeds)) << f.Int(G::kId);
  }
}

TEST(FindingsTest, FallbackShareIsJudgedOnEveryExhaustedCell) {
  Results results;
  results.rows = {Measure(Policy::kBumpPool, 1000, 32768), Measure(Policy::kBumpPool, 20000, 32768),
                  Measure(Policy::kBumpPool, 30000, 32768)};
  const std::vector<FindingRecord> findings = JudgeFindings(results, Reference{});
  using G = schema::Finding::Field;
  const FindingRecord& f2 = findings[1];
  EXPECT_EQ(f2.Int(G::kId), 2);
  EXPECT_NE(f2.Str(G::kVerdict), "not_judged");
  EXPECT_EQ(f2.StrList(G::kDetails).size(), 2u);  // 1,000 keys fit: not exhausted
  EXPECT_EQ(findings[0].Str(G::kVerdict) == "not_judged", false);  // 3 sizes: judged
}

// A grid with one finding-4 pair (3,000 keys: a 1,024-slot pool sends nearly everything to the
// fallback, a 1M-slot pool nothing), lazy pages and malloc.
std::vector<CellRecord> PairGrid() {
  return {Measure(Policy::kBumpPool, 3000, 1024), Measure(Policy::kBumpPool, 3000, 1 << 20)};
}

// `row` with repetition times (insert, query) and their medians.
CellRecord WithTimes(CellRecord row, std::vector<double> insert, std::vector<double> query) {
  const double insert_median = Median(insert), query_median = Median(query);
  row.Set(F::kInsertNsReps, std::move(insert))
      .Set(F::kQueryNsReps, std::move(query))
      .Set(F::kInsertNsPerOp, insert_median)
      .Set(F::kQueryNsPerOp, query_median);
  return row;
}

// `row` as a finding4_map row with another configuration.
CellRecord MapRow(CellRecord row, const std::string& fallback, Pages pages) {
  row.Set(F::kRole, std::string(kFinding4Map))
      .Set(F::kFallback, fallback)
      .Set(F::kPrefault, pages.prefault)
      .Set(F::kHugePages, pages.huge);
  return row;
}

TEST(MeasureTest, InterleavedCellsCountAsAlone) {
  const Cell exhausted{Policy::kBumpPool, 3000, 1024, kLazyPages, 0};
  const Cell sized{Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 0};
  const std::vector<Measurement> both = MeasureInterleaved({exhausted, sized}, 3);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].cell, exhausted);
  EXPECT_EQ(both[1].cell, sized);
  EXPECT_EQ(both[0].stats, MeasureCell(exhausted, 1).stats);
  EXPECT_EQ(both[1].stats, MeasureCell(sized, 1).stats);
  EXPECT_EQ(both[0].insert_ns.size(), 3u);
  EXPECT_EQ(both[1].query_ns.size(), 3u);
  EXPECT_GT(both[0].stats.fallback_allocations, 0u);
  EXPECT_EQ(both[1].stats.fallback_allocations, 0u);
}

TEST(MeasureTest, InterleavingAlternatesWhichCellGoesFirst) {
  EXPECT_EQ(InterleavedIndex(0, 2, 0), 0u);
  EXPECT_EQ(InterleavedIndex(1, 2, 0), 1u);
  EXPECT_EQ(InterleavedIndex(0, 2, 1), 1u);
  EXPECT_EQ(InterleavedIndex(1, 2, 1), 0u);
  EXPECT_EQ(InterleavedIndex(0, 3, 3), 2u);
  // Finding 4's pairs: an even count, so each cell goes first as often.
  EXPECT_EQ(Finding4Repetitions(1), 2);
  EXPECT_EQ(Finding4Repetitions(2), 2);
  EXPECT_EQ(Finding4Repetitions(5), 6);
}

TEST(Finding4MapTest, TheGridsConfigurationThenEveryCombinationAsPairs) {
  const std::vector<CellRecord> rows = PairGrid();
  ASSERT_EQ(Finding4Pairs(rows).size(), 1u);
  const std::vector<CellPair> pairs =
      Finding4MapCells(rows, {"mimalloc", "malloc"}, {kPrefaultPages, kLazyPages});
  ASSERT_EQ(pairs.size(), 4u);  // the grid's (malloc, lazy) first, then the other three
  EXPECT_EQ(pairs[0].exhausted, (Cell{Policy::kBumpPool, 3000, 1024, kLazyPages, 0, "malloc"}));
  EXPECT_EQ(pairs[0].sized, (Cell{Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 0, "malloc"}));
  EXPECT_EQ(pairs[1].exhausted.fallback, "mimalloc");
  EXPECT_EQ(pairs[1].exhausted.pages, kPrefaultPages);
  EXPECT_EQ(pairs[3].sized, (Cell{Policy::kBumpPool, 3000, 1 << 20, kLazyPages, 0, "mimalloc"}));
  // Empty lists: the grid's configuration alone, so finding 4 is still judged on a pair.
  ASSERT_EQ(Finding4MapCells(rows, {}, {}).size(), 1u);
  // No pair (one pool): nothing to map.
  EXPECT_TRUE(Finding4MapCells({rows[0]}, {"mimalloc"}, {kLazyPages}).empty());
}

TEST(Finding4MapTest, PairedRatiosPerConfigurationAndTheVerdictNamesThem) {
  std::vector<CellRecord> rows = PairGrid();
  // The grid's configuration (malloc, lazy) re-measured: the exhausted pool is faster, as on
  // glibc. Its grid rows' times are not used.
  rows[0] = WithTimes(rows[0], {1, 1, 1}, {50, 50, 50});
  rows.push_back(WithTimes(MapRow(rows[0], "malloc", kLazyPages), {100, 90, 300}, {50, 50, 50}));
  rows.push_back(WithTimes(MapRow(rows[1], "malloc", kLazyPages), {200, 300, 100}, {50, 50, 50}));
  // Prefaulted, slower: repetition r against repetition r, x2, x3 and x1.
  const Pages prefault = kPrefaultPages;
  rows.push_back(WithTimes(MapRow(rows[0], "malloc", prefault), {300, 90, 100}, {52, 50, 51}));
  rows.push_back(WithTimes(MapRow(rows[1], "malloc", prefault), {150, 30, 100}, {50, 50, 50}));
  // mimalloc's sized cell is missing: no record for that configuration.
  rows.push_back(MapRow(rows[0], "mimalloc", kPrefaultPages));

  using G = schema::Finding4Ratio::Field;
  Results results;
  results.rows = rows;
  results.finding4_map = Finding4Map(rows, {});
  ASSERT_EQ(results.finding4_map.size(), 2u);
  const Finding4Record& grid = results.finding4_map[0];
  EXPECT_TRUE(grid.Bool(G::kGrid));
  EXPECT_EQ(grid.Str(G::kPages), "lazy");
  EXPECT_DOUBLE_EQ(grid.Float(G::kInsertRatio), 0.5);  // median of x0.5, x0.3, x3
  EXPECT_DOUBLE_EQ(grid.Float(G::kInsertRatioMin), 0.3);
  EXPECT_DOUBLE_EQ(grid.Float(G::kInsertRatioMax), 3.0);
  EXPECT_FALSE(grid.Bool(G::kHolds));
  EXPECT_TRUE(grid.IsNull(G::kReferenceInsertRatio));  // the study has no 3,000-key cell
  const Finding4Record& pre = results.finding4_map[1];
  EXPECT_FALSE(pre.Bool(G::kGrid));
  EXPECT_EQ(pre.Str(G::kPages), "prefault");
  EXPECT_DOUBLE_EQ(pre.Float(G::kInsertRatio), 2.0);  // not 300/150 over the medians' 100/100
  EXPECT_DOUBLE_EQ(pre.Float(G::kQueryRatio), 1.02);
  EXPECT_TRUE(pre.Bool(G::kHolds));

  using H = schema::Finding::Field;
  const FindingRecord f4 = JudgeFindings(results, Reference{})[3];
  EXPECT_EQ(f4.Int(H::kId), 4);
  EXPECT_EQ(f4.Str(H::kVerdict), "not_reproduced");  // judged in the grid's configuration
  const std::string summary = f4.Str(H::kSummary);
  EXPECT_NE(summary.find("inserts slow down in 1 (malloc"), std::string::npos) << summary;
  EXPECT_NE(summary.find("prefault pages x2.00) and not in 1 (malloc"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("lazy pages x0.50)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("the whole finding holds in 1 (malloc"), std::string::npos) << summary;
  EXPECT_EQ(f4.StrList(H::kDetails).size(), 2u);

  // Without the grid's configuration in the map, finding 4 is not judged on unpaired grid rows.
  std::vector<CellRecord> no_grid;
  for (const CellRecord& r : rows) {
    if (r.Str(F::kRole) == kGrid || r.Bool(F::kPrefault)) no_grid.push_back(r);
  }
  results.finding4_map = Finding4Map(no_grid, {});
  ASSERT_EQ(results.finding4_map.size(), 1u);
  EXPECT_EQ(JudgeFindings(results, Reference{})[3].Str(H::kVerdict), "not_judged");

  // The criterion's edges.
  EXPECT_TRUE(Finding4Holds(1.10, 1.15));
  EXPECT_FALSE(Finding4Holds(1.09, 1.0));
  EXPECT_FALSE(Finding4Holds(2.0, 1.16));
  EXPECT_FALSE(Finding4Holds(2.0, 0.84));
}

TEST(Finding4MapTest, APrefaultedGridIsJudgedInItsOwnConfiguration) {
  std::vector<CellRecord> rows = PairGrid();
  for (CellRecord& r : rows) r.Set(F::kPrefault, true);
  // The lazy configuration is measured first (kAllPages order) but is not the grid's.
  rows.push_back(WithTimes(MapRow(rows[0], "malloc", kLazyPages), {100, 100}, {50, 50}));
  rows.push_back(WithTimes(MapRow(rows[1], "malloc", kLazyPages), {200, 200}, {50, 50}));
  rows.push_back(WithTimes(MapRow(rows[0], "malloc", kPrefaultPages), {300, 300}, {50, 50}));
  rows.push_back(WithTimes(MapRow(rows[1], "malloc", kPrefaultPages), {100, 100}, {50, 50}));
  // The study's figures at this N, insert times only: the query ratio stays null.
  Reference reference;
  reference.cells = ParseReferenceCsv<schema::ReferenceRow>(
      "n,pool_slots,slots_demanded,utilization_pct,fallback_pct,total_allocations,"
      "fallback_allocations,insert_ns_per_op,query_ns_per_op\n"
      "3000,1024,,,,,,400,\n3000,1048576,,,,,,200,\n");
  Results results;
  results.rows = rows;
  results.finding4_map = Finding4Map(rows, reference.cells);
  using G = schema::Finding4Ratio::Field;
  ASSERT_EQ(results.finding4_map.size(), 2u);
  EXPECT_TRUE(results.finding4_map[0].Bool(G::kGrid));
  EXPECT_EQ(results.finding4_map[0].Str(G::kPages), "prefault");
  EXPECT_DOUBLE_EQ(results.finding4_map[0].Float(G::kReferenceInsertRatio), 2.0);
  EXPECT_TRUE(results.finding4_map[0].IsNull(G::kReferenceQueryRatio));
  using H = schema::Finding::Field;
  const FindingRecord f4 = JudgeFindings(results, reference)[3];
  EXPECT_EQ(f4.Str(H::kVerdict), "reproduced");  // x3 prefaulted, not lazy's x0.5
  EXPECT_NE(f4.StrList(H::kDetails)[0].find("(reference insert x2.00)"), std::string::npos)
      << f4.StrList(H::kDetails)[0];
}

Config SmallSweep() {
  Config config;
  config.mode = "sweep";
  config.ns = {1000, 3000, 10000};
  config.pools = {16384, 65536};
  config.policies = {Policy::kBumpPool, Policy::kSlotRecycler, Policy::kMalloc};
  config.seeds = 2;
  config.repetitions = 1;
  config.capacity_search_limit = 100'000;
  return config;
}

TEST(ShardsTest, EveryCellAndSearchInExactlyOneShard) {
  Config config = SmallSweep();
  const std::vector<Cell> plan = GridCells(config);
  const std::vector<CapacitySearch> searches = CapacitySearches(config);
  std::vector<int> owners(plan.size(), 0);
  std::size_t searched = 0;
  for (int i = 0; i < 4; ++i) {
    const ShardWork work = WorkOf(config, {i, 4}, SharedPredictor());
    EXPECT_FALSE(work.cells.empty()) << i;
    for (const Cell& c : work.cells) {
      const auto it = std::find(plan.begin(), plan.end(), c);
      ASSERT_NE(it, plan.end());
      ++owners[it - plan.begin()];
    }
    searched += work.searches.size();
    // Deterministic: the same shard planned again gets the same work.
    EXPECT_EQ(WorkOf(config, {i, 4}, SharedPredictor()).cells, work.cells);
  }
  for (int owner : owners) EXPECT_EQ(owner, 1);
  EXPECT_EQ(searched, searches.size());
  // One shard: everything.
  EXPECT_EQ(WorkOf(config, {0, 1}, SharedPredictor()).cells.size(), plan.size());
}

// Shard `i` of 2 of a tiny grid, measured for real, as a complete published result would hold it.
Results MeasuredShard(Config config, int i) {
  config.shard = ShardName({i, 2});
  Results r;
  char arg0[] = "pool_exhaustion";
  char* argv[] = {arg0};
  r.metadata = NewRunMetadata("pool_exhaustion", config.mode, "run", 1, argv, config.ToJson());
  r.metadata.Set(schema::RunMetadata::Field::kComplete, true);
  const ShardWork work = WorkOf(config, {i, 2}, SharedPredictor());
  for (const Cell& c : work.cells) {
    r.rows.push_back(MakeCellRecord(MeasureCell(c, 1), kGrid, 1,
                                    SharedPredictor().For(c.policy, c.n, c.pool_slots)));
  }
  for (const CapacitySearch& s : work.searches) {
    r.capacities.push_back(MakeCapacityRecord(
        s.policy, s.pool_slots,
        LargestNWithoutFallback(s.policy, s.pool_slots, config.capacity_search_limit, "malloc"),
        config.capacity_search_limit, "malloc"));
  }
  return r;
}

TEST(ShardsTest, MergeReassemblesThePlanAndRefusesWhatDoesNotFit) {
  Config config;
  config.mode = "sweep";
  config.ns = {1000, 2000, 3000};
  config.pools = {4096};
  config.policies = {Policy::kBumpPool, Policy::kMalloc};
  config.repetitions = 1;
  config.capacity_search_limit = 50'000;
  const Results a = MeasuredShard(config, 0), b = MeasuredShard(config, 1);
  std::vector<std::string> notes;
  const Results merged = MergeShards({{"a", a}, {"b", b}}, notes);
  const std::vector<Cell> plan = GridCells(config);
  ASSERT_EQ(merged.rows.size(), plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) EXPECT_EQ(CellOf(merged.rows[i]), plan[i]);
  EXPECT_EQ(merged.capacities.size(), 1u);
  EXPECT_EQ(merged.metadata.Object(schema::RunMetadata::Field::kConfig)["shard"], "");
  EXPECT_TRUE(merged.metadata.Bool(schema::RunMetadata::Field::kComplete));

  // What the host decides, not the flags, may differ: --jobs (cores), the process malloc's
  // description, finding 4's loadable fallbacks.
  Results other_host = b;
  other_host.metadata.Set(schema::RunMetadata::Field::kConfig, [&] {
    Config c = config;
    c.shard = "1/2";
    c.jobs = 64;
    c.process_malloc = "glibc 2.99";
    c.finding4_fallbacks = {"malloc"};
    return c.ToJson();
  }());
  EXPECT_EQ(MergeShards({{"a", a}, {"b", other_host}}, notes).rows.size(), plan.size());
  // The config reads back as it was written.
  Config round = ConfigFromJson(config.ToJson());
  EXPECT_EQ(round.ToJson(), config.ToJson());

  auto refused = [&](std::vector<std::pair<std::string, Results>> shards) {
    try {
      MergeShards(shards, notes);
    } catch (const MergeError& error) {
      return std::string(error.what());
    }
    return std::string("merged");
  };
  EXPECT_NE(refused({{"a", a}}).find("shard 1/2 is missing"), std::string::npos);
  EXPECT_NE(refused({{"a", a}, {"a2", a}}).find("shard 0/2 given twice: a and a2"),
            std::string::npos);
  Results incomplete = b;
  incomplete.metadata.Set(schema::RunMetadata::Field::kComplete, false);
  EXPECT_NE(refused({{"a", a}, {"b", incomplete}}).find("b: shard 1/2 is incomplete"),
            std::string::npos);
  Config other = config;
  other.repetitions = 3;
  Results different = b;
  different.metadata.Set(schema::RunMetadata::Field::kConfig, [&] {
    other.shard = "1/2";
    return other.ToJson();
  }());
  EXPECT_NE(refused({{"a", a}, {"b", different}}).find("--repetitions"), std::string::npos);
  Results twice = b;
  twice.rows.push_back(a.rows.front());
  EXPECT_NE(refused({{"a", a}, {"b", twice}}).find("was measured by a and by b"),
            std::string::npos);
  Results lacking = b;
  lacking.rows.pop_back();
  EXPECT_NE(refused({{"a", a}, {"b", lacking}}).find("is missing from every shard"),
            std::string::npos);
}

TEST(SizingTest, RecommendsFromTheModelBesideTheMeasurement) {
  const std::vector<CellRecord> rows = {Measure(Policy::kBumpPool, 1000, 64),
                                        Measure(Policy::kBumpPool, 2000, 64)};
  const std::vector<RecommendationRecord> recs = Recommend(rows, 20, SharedPredictor());
  ASSERT_EQ(recs.size(), 4u);  // model and measured, at each N
  using Q = schema::Recommendation::Field;
  EXPECT_EQ(recs[0].Count(Q::kN), 1000u);
  EXPECT_EQ(recs[0].Str(Q::kSource), "model");
  EXPECT_EQ(recs[0].Count(Q::kRecommendedSlots),
            SharedPredictor().RecommendedSlots(Policy::kBumpPool, 1000, 20));
  EXPECT_EQ(recs[1].Str(Q::kSource), "measured");
  EXPECT_EQ(recs[1].Count(Q::kRecommendedSlots),
            WithHeadroom(rows[0].Float(F::kSlotsDemanded), 20));
}

}  // namespace
}  // namespace experiments::pool_exhaustion
