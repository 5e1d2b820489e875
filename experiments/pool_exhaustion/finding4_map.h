// experiments/pool_exhaustion/finding4_map.h: finding 4 ("inserts slow down when fallbacks
// dominate; queries do not") per configuration. Whether it holds depends on what serves the
// fallbacks and on how the pool's pages are backed: a fallback malloc may hand back the block just
// freed, still warm in cache, while a lazily touched bump pool first-touches a fresh page every
// 4 KiB. So the pairs it compares (an exhausted and a sized pool at one N) are re-measured with
// every fallback of --finding4_fallbacks and page policy of --finding4_pages, the grid's own
// configuration always among them, the two cells of a pair interleaved; each configuration gets
// one finding4_ratio record (schema.json): its paired ratios, page faults and huge pages, beside
// the study's ratio. findings.cc judges finding 4 from these records.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDING4_MAP_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDING4_MAP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/pool_exhaustion/measure.h"
#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// Finding 4's criterion in one configuration (thresholds: schema.json "constants").
bool Finding4InsertsSlow(double insert_ratio);
bool Finding4QueriesUnchanged(double query_ratio);
bool Finding4Holds(double insert_ratio, double query_ratio);  // both

// The N at which finding 4 compares the smallest and the largest grid pool: bump_pool grid rows
// (seed 0) where the smallest sends >= kFinding4MinFallbackPct of allocations to the fallback and
// the largest none.
struct PoolPair {
  std::uint64_t n, exhausted_pool, sized_pool;
};
std::vector<PoolPair> Finding4Pairs(const std::vector<CellRecord>& rows);

// Phase 2's finding4_map cells: both pools of every pair with every fallback x pages combination,
// and the grid's own configuration (re-measured: its grid cells were measured apart). Each pair is
// measured with MeasureInterleaved, Finding4Repetitions(repetitions) times.
struct CellPair {
  Cell exhausted, sized;
};
std::vector<CellPair> Finding4MapCells(const std::vector<CellRecord>& rows,
                                       const std::vector<std::string>& fallbacks,
                                       const std::vector<Pages>& pages);
// At least two and even: MeasureInterleaved alternates which cell goes first, so each does as
// often (--sweep's single repetition would always time the exhausted cell first).
int Finding4Repetitions(int repetitions);

// One record per (pair N, fallback, pages) whose two finding4_map cells were measured: by N, the
// grid's configuration first, then the others in the order measured.
std::vector<Finding4Record> Finding4Map(const std::vector<CellRecord>& rows,
                                        const std::vector<ReferenceRecord>& reference);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDING4_MAP_H_
