// experiments/pool_exhaustion.h: the pool-exhaustion study, as a library (the binary is
// pool_exhaustion_main.cc; the tests drive these functions on small sizes).
//
// The reference study filled a HAMT whose node arrays came from a bump pool of 8-byte slots with
// keys 0..N-1 (value i*10), queried every key, and read the pool's telemetry. MeasureCell does the
// same for one (policy, N, pool size) cell; Analyze turns the cells into the study's six findings
// and a sizing model.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "absl/strings/string_view.h"

#include "allocators/stats.h"
#include "nlohmann/json.hpp"

namespace experiments::pool_exhaustion {

inline constexpr int kSchemaVersion = 1;

enum class Policy { kBumpPool, kSlotRecycler, kMalloc };

absl::string_view PolicyName(Policy policy);
std::optional<Policy> ParsePolicy(absl::string_view name);
inline bool HasPool(Policy policy) { return policy != Policy::kMalloc; }

struct Cell {
  Policy policy = Policy::kBumpPool;
  std::uint64_t n = 0;
  std::uint64_t pool_slots = 0;  // 0 for kMalloc
  friend bool operator==(const Cell&, const Cell&) = default;
};

struct Row {
  Cell cell;
  // Telemetry right after inserting the N keys (identical in every repetition; checked).
  allocators::AllocStats stats;
  std::vector<double> insert_ns;  // per key, one value per repetition
  std::vector<double> query_ns;
  long peak_rss_kb = 0;
  std::string process_malloc;
};

// Builds the map for `cell` `repetitions` times, queries every key and checks its value.
// Throws std::runtime_error on a wrong or missing value, or when the counts differ between
// repetitions (they are deterministic by construction); allocators::PoolReserveError when the pool
// cannot be reserved.
// `prefault` commits the pool's pages before the timed build (PoolOptions::prefault).
Row MeasureCell(const Cell& cell, int repetitions, bool prefault = false);

// Inserts keys 0, 1, 2, ... into a map over a `pool_slots` pool until the first allocation falls
// back to malloc, and returns how many keys went in without any fallback (at most `limit`). Every
// build of 0..N-1 is a prefix of this one, so it is exactly the largest N the pool serves.
std::uint64_t LargestNWithoutFallback(Policy policy, std::uint64_t pool_slots, std::uint64_t limit);

// The cost of one allocation of `block_bytes` served by a bump (a pool with room) and by the
// fallback (a 0-slot pool, so every call goes to malloc), measured directly, median over
// repetitions, ns per allocation, in two patterns:
//   batch: `count` allocations in a row, then all freed (fresh memory every time: the study's case);
//   grow:  allocate a block, free the previous one (the map's pattern: an array grows by one entry),
//          which lets malloc hand the block just freed straight back.
struct AllocationCost {
  std::size_t block_bytes = 0;
  double bump_ns = 0;
  double fallback_ns = 0;
  double bump_grow_ns = 0;
  double fallback_grow_ns = 0;
};
AllocationCost MeasureAllocationCost(std::size_t block_bytes, std::size_t count, int repetitions);

// ---- Derived per-row values (one place; the CSV, JSON and console table all use these). ----
double Median(std::vector<double> values);
double SlotsPerEntry(const Row& row);
double BytesPerEntry(const Row& row);

// ---- The reference study's figures (experiments/reference/pool_exhaustion_reference.csv). ----
struct ReferenceRow {
  std::uint64_t n = 0, pool_slots = 0;
  std::optional<double> slots_demanded, utilization_pct, fallback_pct, total_allocations,
      fallback_allocations, insert_ns, query_ns;
};
// Parses the reference CSV text; throws std::runtime_error naming the line on malformed input.
std::vector<ReferenceRow> ParseReference(absl::string_view csv_text);
const ReferenceRow* FindReference(const std::vector<ReferenceRow>& reference, std::uint64_t n,
                                  std::uint64_t pool_slots);

// ---- Findings and sizing. ----
struct Finding {
  int id = 0;
  std::string title;
  bool reproduced = false;
  std::string text;  // our numbers, and the reference's where it has them
};

// demand(N) = fixed_slots + slots_per_entry x N, fitted by least squares over the measured N.
// fixed_slots is what does not scale with N (for the recycler: blocks parked on the free lists of
// sizes no longer asked for); it is 0 when the data do not support a positive intercept.
struct SizingModel {
  Policy policy = Policy::kBumpPool;
  double slots_per_entry = 0;
  double slots_per_entry_stderr = 0;  // standard error of the slope
  double fixed_slots = 0;
  double max_deviation_pct = 0;       // largest |measured - model| / model over the measured N
  double DemandSlots(std::uint64_t n) const;
  std::uint64_t RecommendedSlots(std::uint64_t n, double headroom_pct) const;
};

struct Analysis {
  std::vector<Finding> findings;
  std::vector<SizingModel> models;  // for each pool policy with data
  // Largest N without fallback per (policy, pool_slots), measured by LargestNWithoutFallback.
  struct Capacity {
    Policy policy;
    std::uint64_t pool_slots;
    std::uint64_t largest_n;
    bool hit_limit;  // the search stopped at its limit: the true value is larger
  };
  std::vector<Capacity> capacities;
  // The recommended pool for the largest N, re-measured: its fallback count should be 0.
  std::optional<Row> verification;
  // Finding 4's cells (bump pool, small and large pool, where fallbacks dominate the small one)
  // measured again with every pool page committed before the build: the part of the insert cost
  // that is page faults, not allocation.
  std::vector<Row> prefaulted;
  AllocationCost allocation_cost;
  double headroom_pct = 20;
};

struct AnalysisOptions {
  double headroom_pct = 20;
  int repetitions = 5;
  std::uint64_t capacity_search_limit = 20'000'000;
  bool measure_extras = true;  // capacities, verification row, allocation cost, prefaulted rows
  bool prefault = false;       // the rows themselves were measured with PoolOptions::prefault
};

// Computes the findings from `rows` (and runs the extra measurements they need).
Analysis Analyze(const std::vector<Row>& rows, const std::vector<ReferenceRow>& reference,
                 const AnalysisOptions& options);

// ---- Output. ----
std::vector<std::string> CsvHeader();
std::vector<std::string> CsvRow(const Row& row);
// Parses rows written by CsvRow (for --resume); throws std::runtime_error naming the line.
std::vector<Row> ParseCsv(absl::string_view csv_text);
nlohmann::ordered_json ToJson(const std::vector<Row>& rows, const Analysis* analysis,
                              const nlohmann::ordered_json& metadata);
// The side-by-side table: our figures and the reference study's for the same (N, pool) cells.
std::string FormatTable(const std::vector<Row>& rows, const std::vector<ReferenceRow>& reference);
std::string FormatFindings(const Analysis& analysis);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_H_
