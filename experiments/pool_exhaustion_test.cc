#include "experiments/pool_exhaustion.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace experiments::pool_exhaustion {
namespace {

std::string ReadReference() {
  std::ifstream in("experiments/reference/pool_exhaustion_reference.csv");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(PoolExhaustionTest, CountsAreDeterministic) {
  const Row first = MeasureCell({Policy::kBumpPool, 5000, 16384}, 2);
  const Row second = MeasureCell({Policy::kBumpPool, 5000, 16384}, 1);
  EXPECT_EQ(first.stats, second.stats);
  EXPECT_GT(first.stats.fallback_allocations, 0u);
  EXPECT_EQ(first.insert_ns.size(), 2u);
}

TEST(PoolExhaustionTest, FirstAllocationThatDoesNotFitFallsBack) {
  constexpr std::uint64_t kPool = 4096;
  const std::uint64_t largest = LargestNWithoutFallback(Policy::kBumpPool, kPool, 1'000'000);
  ASSERT_GT(largest, 10u);
  ASSERT_LT(largest, 1'000'000u);
  const Row fits = MeasureCell({Policy::kBumpPool, largest, kPool}, 1);
  const Row over = MeasureCell({Policy::kBumpPool, largest + 1, kPool}, 1);
  EXPECT_EQ(fits.stats.fallback_allocations, 0u);
  EXPECT_LE(fits.stats.slots_demanded, kPool);
  EXPECT_GT(over.stats.fallback_allocations, 0u);
  // Before the first fallback the pool handed out exactly what was demanded.
  EXPECT_EQ(fits.stats.high_water_slots, fits.stats.slots_demanded);
}

TEST(PoolExhaustionTest, DemandDoesNotDependOnPoolSizeForBump) {
  const Row small = MeasureCell({Policy::kBumpPool, 3000, 1024}, 1);
  const Row large = MeasureCell({Policy::kBumpPool, 3000, 1 << 20}, 1);
  EXPECT_EQ(small.stats.slots_demanded, large.stats.slots_demanded);
  EXPECT_EQ(small.stats.allocations, large.stats.allocations);
  EXPECT_EQ(large.stats.fallback_allocations, 0u);
  EXPECT_EQ(large.stats.high_water_slots, large.stats.slots_demanded);
}

TEST(PoolExhaustionTest, FallbackShareFollowsPrediction) {
  const Row row = MeasureCell({Policy::kBumpPool, 20000, 16384}, 1);
  const double demand = static_cast<double>(row.stats.slots_demanded);
  ASSERT_GT(demand, 16384.0 * 4);
  const double predicted = 100.0 * (1.0 - 16384.0 / demand);
  EXPECT_NEAR(allocators::FallbackPct(row.stats), predicted, 5.0);
}

TEST(PoolExhaustionTest, RecyclerDemandStaysNearLiveSize) {
  const Row recycler = MeasureCell({Policy::kSlotRecycler, 20000, 1 << 22}, 1);
  const Row bump = MeasureCell({Policy::kBumpPool, 20000, 1 << 22}, 1);
  ASSERT_EQ(recycler.stats.fallback_allocations, 0u);
  EXPECT_GT(recycler.stats.reused_allocations, 0u);
  // Blocks parked on the free lists of sizes no longer asked for are the only overhead.
  EXPECT_LE(static_cast<double>(recycler.stats.slots_demanded),
            2.0 * static_cast<double>(recycler.stats.peak_live_bytes) / 8.0);
  EXPECT_LT(recycler.stats.slots_demanded * 3, bump.stats.slots_demanded);
  // Same map, same live data, whatever the policy.
  EXPECT_EQ(recycler.stats.live_bytes, bump.stats.live_bytes);
}

TEST(PoolExhaustionTest, CsvRoundTrip) {
  const Row row = MeasureCell({Policy::kSlotRecycler, 2000, 4096}, 2);
  std::string csv = absl::StrJoin(CsvHeader(), ",") + "\n" + absl::StrJoin(CsvRow(row), ",") + "\n";
  const std::vector<Row> parsed = ParseCsv(csv);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].cell, row.cell);
  EXPECT_EQ(parsed[0].stats.slots_demanded, row.stats.slots_demanded);
  EXPECT_EQ(parsed[0].stats.fallback_allocations, row.stats.fallback_allocations);
  EXPECT_EQ(parsed[0].stats.reused_allocations, row.stats.reused_allocations);
  EXPECT_EQ(parsed[0].insert_ns.size(), 2u);
  EXPECT_EQ(CsvRow(parsed[0])[9], CsvRow(row)[9]);
}

TEST(PoolExhaustionTest, CsvErrorsNameTheLine) {
  const std::string csv = absl::StrJoin(CsvHeader(), ",") + "\nbump_pool,12\n";
  try {
    ParseCsv(csv);
    FAIL() << "a truncated row was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("line 2"), std::string::npos) << error.what();
  }
}

TEST(PoolExhaustionTest, ReferenceParses) {
  const std::vector<ReferenceRow> reference = ParseReference(ReadReference());
  ASSERT_EQ(reference.size(), 8u);
  const ReferenceRow* row = FindReference(reference, 100000, 65536);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->fallback_allocations, 683500);
  EXPECT_EQ(row->total_allocations, 699131);
  EXPECT_FALSE(FindReference(reference, 1000, 65536)->insert_ns.has_value());
  EXPECT_THROW(ParseReference("n,pool_slots\n1,2,3\n"), std::runtime_error);
}

TEST(PoolExhaustionTest, AnalysisReproducesTheCountFindingsOnSmallSizes) {
  std::vector<Row> rows;
  for (std::uint64_t n : {2000, 8000, 32000}) {
    for (Policy policy : {Policy::kBumpPool, Policy::kSlotRecycler}) {
      for (std::uint64_t pool : {8192, 1 << 21}) rows.push_back(MeasureCell({policy, n, pool}, 1));
    }
  }
  AnalysisOptions options;
  options.repetitions = 1;
  options.capacity_search_limit = 2'000'000;
  const Analysis analysis = Analyze(rows, ParseReference(ReadReference()), options);
  ASSERT_EQ(analysis.findings.size(), 6u);
  EXPECT_TRUE(analysis.findings[0].reproduced) << analysis.findings[0].text;  // linear demand
  EXPECT_TRUE(analysis.findings[2].reproduced) << analysis.findings[2].text;  // sized pool: 0
  // Deep in exhaustion the fallback share is 1 - capacity/demand to within a few points.
  for (const Row& row : rows) {
    if (row.cell.policy != Policy::kBumpPool || row.cell.pool_slots != 8192 || row.cell.n < 8000) {
      continue;
    }
    const double predicted =
        100.0 * (1.0 - 8192.0 / static_cast<double>(row.stats.slots_demanded));
    EXPECT_NEAR(allocators::FallbackPct(row.stats), predicted, 3.0) << row.cell.n;
  }
  // The recycler serves several times more keys than the bump from the same pool.
  for (const auto& recycler : analysis.capacities) {
    if (recycler.policy != Policy::kSlotRecycler) continue;
    for (const auto& bump : analysis.capacities) {
      if (bump.policy == Policy::kBumpPool && bump.pool_slots == recycler.pool_slots) {
        EXPECT_GE(recycler.largest_n, 2 * bump.largest_n) << recycler.pool_slots;
      }
    }
  }
  ASSERT_TRUE(analysis.verification.has_value());
  EXPECT_EQ(analysis.verification->stats.fallback_allocations, 0u);
  ASSERT_EQ(analysis.models.size(), 2u);
  EXPECT_GT(analysis.models[0].slots_per_entry, analysis.models[1].slots_per_entry);
  // The measured capacity agrees with the fallback counts of the rows.
  for (const auto& capacity : analysis.capacities) {
    for (const Row& row : rows) {
      if (row.cell.policy != capacity.policy || row.cell.pool_slots != capacity.pool_slots) continue;
      EXPECT_EQ(row.stats.fallback_allocations == 0, row.cell.n <= capacity.largest_n)
          << PolicyName(capacity.policy) << " pool " << capacity.pool_slots << " n " << row.cell.n;
    }
  }
  const nlohmann::ordered_json json = ToJson(rows, &analysis, {{"date", "today"}});
  EXPECT_EQ(json["rows"].size(), rows.size());
  EXPECT_EQ(json["findings"].size(), 6u);
  EXPECT_TRUE(json["sizing"].contains("recommended_pool_slots"));
  EXPECT_TRUE(json["rows"][0].contains("slots_per_entry"));
  const std::string table = FormatTable(rows, {});
  EXPECT_NE(table.find("32,000"), std::string::npos);
}

}  // namespace
}  // namespace experiments::pool_exhaustion
