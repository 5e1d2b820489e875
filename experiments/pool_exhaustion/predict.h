// experiments/pool_exhaustion/predict.h: the demand model's prediction beside every measured cell.
//
// The study's own prediction, 1 - capacity/demand, needs the measured demand; the model
// (model/demand_model.h) needs nothing but N, the node layout and the pool, so it also sizes pools
// before anything is measured (finding 3's verification, the recommendations). The experiments'
// StableHash is a uniform hash, so the model's uniform assumption holds; its expectations are
// means over tries, compared with the mean over the run's hash seeds.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PREDICT_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PREDICT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include "experiments/common/records.h"
#include "experiments/pool_exhaustion/measure.h"
#include "experiments/schema/schema.h"
#include "model/demand_model.h"

namespace experiments::pool_exhaustion {

struct Prediction {
  double allocations = 0;
  double bytes_per_entry = 0;  // live bytes after the build / n: the same for every policy
  // Unset for the malloc policy (no pool).
  std::optional<double> slots_demanded, fallback_pct, exhaustion_n;  // exhaustion_n: unset if never
};

// Thread-safe; remembers what it computed (a recycler's pool answer costs ~0.3 s).
class Predictor {
 public:
  Predictor();  // int64 -> int64 nodes, 8-byte slots, uniform hashes: what the study builds

  const model::DemandModel& model() const { return model_; }
  Prediction For(Policy policy, std::uint64_t n, std::uint64_t pool_slots) const;
  // The expected demand of a build of N on an unbounded pool.
  double DemandSlots(Policy policy, std::uint64_t n) const;
  // The pool the model recommends for a build of N (expected demand + headroom).
  std::uint64_t RecommendedSlots(Policy policy, std::uint64_t n, double headroom_pct) const;

 private:
  model::DemandModel model_;
  mutable std::mutex mutex_;
  mutable std::map<std::tuple<Policy, std::uint64_t, std::uint64_t>, Prediction> cache_;
};

// The model's per-entry curve over the measured sizes (half the smallest to twice the largest,
// log-spaced): drawn beside the measured points.
std::vector<Record<schema::ModelPoint>> ModelCurve(const std::vector<std::uint64_t>& ns,
                                                   const Predictor& predictor, int points = 49);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_PREDICT_H_
