#include "experiments/pool_exhaustion/predict.h"

#include <algorithm>
#include <cmath>

namespace experiments::pool_exhaustion {
namespace {

model::Policy ModelPolicy(Policy policy) {
  return policy == Policy::kSlotRecycler ? model::Policy::kSlotRecycler : model::Policy::kBumpPool;
}

}  // namespace

Predictor::Predictor() : model_(model::Layout{}, model::HashAssumption::kUniform) {}

Prediction Predictor::For(Policy policy, std::uint64_t n, std::uint64_t pool_slots) const {
  const auto key = std::make_tuple(policy, n, pool_slots);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  Prediction p;
  p.bytes_per_entry = model_.Shape(n).BytesPerEntry();
  if (!HasPool(policy)) {
    p.allocations = model_.Build(n).allocations;
  } else {
    const model::PoolPrediction pool = model_.Pool(ModelPolicy(policy), pool_slots, n);
    p.allocations = pool.allocations;
    p.slots_demanded = pool.slots_demanded;
    p.fallback_pct = 100.0 * pool.fallback_share;
    if (std::isfinite(pool.exhaustion_n)) p.exhaustion_n = pool.exhaustion_n;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.emplace(key, p);
  return p;
}

double Predictor::DemandSlots(Policy policy, std::uint64_t n) const {
  return model_.DemandSlots(ModelPolicy(policy), n);
}

std::uint64_t Predictor::RecommendedSlots(Policy policy, std::uint64_t n,
                                          double headroom_pct) const {
  return model_.RecommendedSlots(ModelPolicy(policy), n, headroom_pct);
}

std::vector<Record<schema::ModelPoint>> ModelCurve(const std::vector<std::uint64_t>& ns,
                                                   const Predictor& predictor, int points) {
  std::vector<Record<schema::ModelPoint>> curve;
  if (ns.empty()) return curve;
  const std::uint64_t lo = std::max<std::uint64_t>(1, *std::min_element(ns.begin(), ns.end()) / 2);
  const std::uint64_t hi = 2 * *std::max_element(ns.begin(), ns.end());
  for (const model::CurvePoint& p : predictor.model().Curve(lo, hi, points)) {
    curve.push_back(RecordFrom<schema::ModelPoint>([&p](schema::ModelPoint::Field field) -> Value {
      using F = schema::ModelPoint::Field;
      switch (field) {  // no default: a new schema field must be written here
        case F::kN: return static_cast<std::int64_t>(p.n);
        case F::kBumpSlotsPerEntry: return p.bump_slots_per_entry;
        case F::kRecyclerSlotsPerEntry: return p.recycler_slots_per_entry;
        case F::kLiveBytesPerEntry: return p.live_bytes_per_entry;
        case F::kAllocationsPerEntry: return p.allocations_per_entry;
      }
      throw SchemaError("model_point: unknown field");
    }));
  }
  return curve;
}

}  // namespace experiments::pool_exhaustion
