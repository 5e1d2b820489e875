// experiments/pool_exhaustion/sizing.h: how big a pool must be, from the measured records.
//
// Recommendations come from the demand model (predict.h), which knows that slots per entry are not
// constant (the trie's levels fill in waves); a straight line fitted over the measured sizes is
// descriptive only and never extrapolated into a recommendation.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "experiments/pool_exhaustion/predict.h"
#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// Slots demanded per distinct N (mean over seeds) for a pool policy, from grid rows whose demand is
// not distorted by exhaustion: every bump_pool row (its demand does not depend on the pool), and
// slot_recycler rows without fallback (fallback blocks are never recycled).
std::map<std::uint64_t, double> UnconstrainedDemand(const std::vector<CellRecord>& rows,
                                                    Policy policy);

// demand(N) = fixed_slots + slots_per_entry x N by least squares (through the origin with fewer
// than 3 sizes or when the intercept would be negative). nullopt without data.
std::optional<FitRecord> FitDemand(const std::vector<CellRecord>& rows, Policy policy);

// ceil(demand x (1 + headroom_pct / 100)).
std::uint64_t WithHeadroom(double demand_slots, double headroom_pct);

// Per pool policy and measured N: the demand model's recommendation (source "model"), and beside it
// the demand this run measured there with the same headroom (source "measured"), as a check.
std::vector<RecommendationRecord> Recommend(const std::vector<CellRecord>& rows,
                                            double headroom_pct, const Predictor& predictor);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_
