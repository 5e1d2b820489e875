#include "experiments/pool_exhaustion/sizing.h"

#include <algorithm>
#include <cmath>

namespace experiments::pool_exhaustion {

std::map<std::uint64_t, double> UnconstrainedDemand(const std::vector<CellRecord>& rows,
                                                    Policy policy) {
  // One demand per (N, seed): a build's demand does not depend on the pool while the pool holds
  // it, so any pool that held that seed's build gives it (counting every pool would weigh the
  // seeds that fit small pools, the cheaper tries, more than the others).
  std::map<std::uint64_t, std::map<std::uint64_t, double>> by_seed;
  for (const CellRecord& r : rows) {
    if (r.Str(CellField::kRole) != kGrid || PolicyOf(r) != policy || r.Count(CellField::kN) == 0) {
      continue;
    }
    if (policy == Policy::kSlotRecycler && r.Count(CellField::kFallbackAllocations) > 0) continue;
    by_seed[r.Count(CellField::kN)].emplace(r.Count(CellField::kSeed),
                                            r.Float(CellField::kSlotsDemanded));
  }
  std::map<std::uint64_t, double> demand;
  for (const auto& [n, seeds] : by_seed) {
    double sum = 0;
    for (const auto& [seed, slots] : seeds) sum += slots;
    demand[n] = sum / static_cast<double>(seeds.size());
  }
  return demand;
}

std::optional<FitRecord> FitDemand(const std::vector<CellRecord>& rows, Policy policy) {
  const auto demand = UnconstrainedDemand(rows, policy);
  if (demand.empty() || !HasPool(policy)) return std::nullopt;
  const double count = static_cast<double>(demand.size());
  double mean_n = 0, mean_d = 0;
  for (const auto& [n, d] : demand) {
    mean_n += static_cast<double>(n) / count;
    mean_d += d / count;
  }
  double sxx = 0, sxy = 0, sum_nn = 0, sum_nd = 0, syy = 0;
  for (const auto& [n, d] : demand) {
    const double x = static_cast<double>(n);
    sxx += (x - mean_n) * (x - mean_n);
    sxy += (x - mean_n) * (d - mean_d);
    syy += (d - mean_d) * (d - mean_d);
    sum_nn += x * x;
    sum_nd += x * d;
  }
  double slope = 0, intercept = 0;
  // An affine fit needs three points to have an error; with fewer, or a negative intercept, the
  // line goes through the origin.
  if (demand.size() >= 3 && sxx > 0 && mean_d - (sxy / sxx) * mean_n > 0) {
    slope = sxy / sxx;
    intercept = mean_d - slope * mean_n;
  } else {
    slope = sum_nd / sum_nn;
  }
  double residual_sq = 0, max_deviation = 0;
  for (const auto& [n, d] : demand) {
    const double predicted = intercept + slope * static_cast<double>(n);
    residual_sq += (d - predicted) * (d - predicted);
    max_deviation = std::max(max_deviation, 100.0 * std::abs(d - predicted) / predicted);
  }
  const double parameters = intercept > 0 ? 2.0 : 1.0;
  return RecordFrom<schema::SizingFit>([&](schema::SizingFit::Field field) -> Value {
    using F = schema::SizingFit::Field;
    switch (field) {  // no default: a new schema field must be written here
      case F::kPolicy: return std::string(PolicyName(policy));
      case F::kFixedSlots: return intercept;
      case F::kSlotsPerEntry: return slope;
      case F::kSlotsPerEntryStderr:
        if (count <= parameters) return std::monostate{};
        return std::sqrt(residual_sq / (count - parameters) / (intercept > 0 ? sxx : sum_nn));
      case F::kRSquared:
        if (demand.size() < 2 || syy <= 0) return std::monostate{};
        return 1.0 - residual_sq / syy;
      case F::kMaxDeviationPct: return max_deviation;
      case F::kSizes: return static_cast<std::int64_t>(demand.size());
      case F::kNMin: return static_cast<std::int64_t>(demand.begin()->first);
      case F::kNMax: return static_cast<std::int64_t>(demand.rbegin()->first);
    }
    throw SchemaError("sizing_fit: unknown field");
  });
}

std::uint64_t WithHeadroom(double demand_slots, double headroom_pct) {
  return static_cast<std::uint64_t>(std::ceil(demand_slots * (1.0 + headroom_pct / 100.0)));
}

std::vector<RecommendationRecord> Recommend(const std::vector<CellRecord>& rows,
                                            double headroom_pct, const Predictor& predictor) {
  using F = schema::Recommendation::Field;
  std::vector<RecommendationRecord> out;
  auto add = [&](Policy policy, std::uint64_t n, double demand, std::uint64_t slots,
                 const char* source) {
    out.push_back(RecordFrom<schema::Recommendation>([&](F field) -> Value {
      switch (field) {  // no default: a new schema field must be written here
        case F::kPolicy: return std::string(PolicyName(policy));
        case F::kN: return static_cast<std::int64_t>(n);
        case F::kDemandSlots: return demand;
        case F::kHeadroomPct: return headroom_pct;
        case F::kRecommendedSlots: return static_cast<std::int64_t>(slots);
        case F::kSource: return std::string(source);
      }
      throw SchemaError("recommendation: unknown field");
    }));
  };
  for (Policy policy : kAllPolicies) {
    if (!HasPool(policy)) continue;
    for (const auto& [n, demand] : UnconstrainedDemand(rows, policy)) {
      add(policy, n, predictor.DemandSlots(policy, n),
          predictor.RecommendedSlots(policy, n, headroom_pct), "model");
      add(policy, n, demand, WithHeadroom(demand, headroom_pct), "measured");
    }
  }
  return out;
}

}  // namespace experiments::pool_exhaustion
