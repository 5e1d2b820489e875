// experiments/pool_exhaustion/findings.h: the reference study's six findings, judged once.
//
// Each finding is a pure function of the run's records (and the reference study's figures): it
// takes whatever cells were measured, and when they cannot decide it, its verdict is not_judged and
// `needs` says which cells would. The console, pool_exhaustion.json and the report all render the
// records made here; nothing else states a criterion.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDINGS_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDINGS_H_

#include <vector>

#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// The six findings, from every other section of `results` (finding 4 from results.finding4_map,
// finding4_map.h).
std::vector<FindingRecord> JudgeFindings(const Results& results, const Reference& reference);


}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_FINDINGS_H_
