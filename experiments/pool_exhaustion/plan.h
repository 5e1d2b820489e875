// experiments/pool_exhaustion/plan.h: what a run measures, decided before (and between) its
// phases, and whether this machine can hold it.
//
// Phase 1 measures the grid (n x pools x policies). Phase 2's cells follow from the grid's records:
// the recommended pool for the largest N (finding 3), finding 4's pairs re-measured with other
// fallbacks and page policies (finding4_map.h), the
// largest N each pool serves, and the cost of one allocation (finding 5). CheckMemory bounds both
// phases up front, so a run never measures for minutes and then fails for lack of memory.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PLAN_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/pool_exhaustion/measure.h"
#include "experiments/pool_exhaustion/records.h"
#include "nlohmann/json.hpp"

namespace experiments::pool_exhaustion {

// Every setting that changes a measured number. --resume continues a run only when these are
// equal; they are recorded as metadata.config.
struct Config {
  std::string mode;  // "default" or "sweep"
  std::string shard;  // "I/N" (shards.h): this run measures part I of N of the grid; "" for all
  std::vector<std::uint64_t> ns, pools;
  std::vector<Policy> policies;
  std::string fallback{allocators::kDefaultFallback};  // what serves the pools' fallbacks (allocators/registry.h)
  int seeds = 1;  // hash seeds per pool cell: seed 0 timed (repetitions), the others counted once
  int repetitions = 5;
  Pages pages;  // the grid's pools' pages (--prefault, --huge_pages)
  // Finding 4's pairs are re-measured with each of these fallbacks and page policies
  // (finding4_map.h), as is the grid's own combination.
  std::vector<std::string> finding4_fallbacks;
  std::vector<Pages> finding4_pages;
  double headroom_pct = 20;
  std::uint64_t capacity_search_limit = 20'000'000;
  int jobs = 1;
  std::string process_malloc, binary;  // binary: BinaryFingerprint(), the code that measures

  nlohmann::ordered_json ToJson() const;
};

// The settings of ToJson() back (what GridCells and CapacitySearches need, and the rest as they
// were); throws SchemaError naming the setting a damaged file lacks.
Config ConfigFromJson(const nlohmann::ordered_json& json);


// Phase 1: every (n, policy, pool) cell, in table order.
std::vector<Cell> GridCells(const Config& config);

// The repetitions a cell is measured with: `repetitions` for seed 0, whose times are reported; one
// for the other seeds, which only add counts (deterministic per seed) to average over tries.
int RepetitionsFor(const Cell& cell, int repetitions);

// Phase 2, from phase 1's records. Finding 3's cell: the bump pool at the largest N with the pool
// the demand model recommends for it (predicted demand + headroom), sized before the build.
std::optional<Cell> VerificationCell(const std::vector<CellRecord>& rows, double headroom_pct,
                                     const Predictor& predictor);
struct CapacitySearch {
  Policy policy;
  std::uint64_t pool_slots;
};
// One per (pool, pool policy) of the grid: how many keys each pool serves.
std::vector<CapacitySearch> CapacitySearches(const Config& config);
// The mean node-array size at the largest N of the bump pool, rounded up to whole slots; nullopt
// without a bump_pool row.
std::optional<std::size_t> CostBlockBytes(const std::vector<CellRecord>& rows);
inline constexpr std::size_t kCostAllocations = 200'000;

// Throws UsageError (naming --n or --jobs) when some planned cell (grid, verification or capacity
// search) would not fit in this machine's memory or this process's
// address-space limit (ulimit -v). Estimates are upper bounds: <= 32 slots demanded and <= 64
// bytes of map and malloc overhead per key.
void CheckMemory(const Config& config);
// The same for part of the plan (a shard's: shards.h): `cells` and `searches`, and phase 2's cells
// only when `whole_run`.
void CheckMemory(const Config& config, const std::vector<Cell>& cells,
                 const std::vector<CapacitySearch>& searches, bool whole_run);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PLAN_H_
