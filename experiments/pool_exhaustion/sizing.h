// experiments/pool_exhaustion/sizing.h: how big a pool must be, from the measured records.
//
// Recommendations come only from demand measured at exactly the target N (demand x (1 + headroom)):
// slots per entry are not constant (the trie's levels fill in waves), so a straight line fitted
// over the sizes is descriptive only and never extrapolated into a recommendation.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

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

// Finding 3's pool: the pool for the largest measured N of the bump pool, sized in advance, as a
// user must size it: from a straight line through the demand at the other sizes (never from the
// largest N's own demand), plus headroom. nullopt with fewer than 2 other sizes.
struct AdvanceSizing {
  std::uint64_t n = 0;
  double predicted_demand = 0;
  std::uint64_t pool_slots = 0;
};
std::optional<AdvanceSizing> SizeLargestInAdvance(const std::vector<CellRecord>& rows,
                                                  double headroom_pct);

// One recommendation per pool policy and measured N.
std::vector<RecommendationRecord> Recommend(const std::vector<CellRecord>& rows,
                                            double headroom_pct);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SIZING_H_
