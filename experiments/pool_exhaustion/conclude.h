// experiments/pool_exhaustion/conclude.h: what a run derives from its measured records, once they
// are all in (a whole run, or the merge of a sharded one's shards).
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONCLUDE_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONCLUDE_H_

#include "experiments/pool_exhaustion/plan.h"
#include "experiments/pool_exhaustion/predict.h"
#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// Fills results' sizing fits, recommendations, model curve, finding 4's map and the six findings
// from its rows, capacities and allocation costs.
void Conclude(Results& results, const Config& config, const Predictor& predictor,
              const Reference& reference);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONCLUDE_H_
