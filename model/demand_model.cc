#include "model/demand_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "model/internal/expectations.h"
#include "model/internal/identity.h"
#include "model/internal/running_max.h"
#include "model/internal/timeline.h"

namespace model {
namespace {

using internal::CountPath;
using internal::Instant;
using internal::Timeline;

// Grid points per factor e of the insert index, and the quadrature error the grid is refined to.
constexpr double kPointsPerE = 24;
constexpr double kMaxPointsPerE = 192;
// At 24 points per e the estimate is ~1e-7 for every N tried (1K..1e9), so the grid, and with it
// every result, is the same whatever the question; refinement is a safeguard.
constexpr double kQuadratureTolerance = 1e-5;
// Pools are searched for exhaustion up to this many keys.
constexpr double kSearchLimit = 1e12;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Timeline refined until the bump demand's quadrature error estimate is below the tolerance.
Timeline RefinedTimeline(const internal::TrieExpectations& trie, std::uint64_t n, bool by_size,
                         const std::vector<std::uint64_t>& marks = {}) {
  double per_e = kPointsPerE;
  for (;;) {
    Timeline timeline(trie, n, by_size, per_e, marks);
    std::vector<double> slots(timeline.points());
    for (std::size_t i = 0; i < timeline.points(); ++i) slots[i] = timeline.at(i).alloc_slots;
    if (timeline.ErrorEstimate(slots) <= kQuadratureTolerance || per_e >= kMaxPointsPerE) {
      return timeline;
    }
    per_e *= 2;
  }
}

// E[blocks of each size carved] over the inserts at grid points 0..last.
std::vector<double> RecyclerBlocks(const Timeline& timeline, std::size_t last) {
  const std::vector<double> weights = timeline.TrapezoidWeights(last);
  const std::size_t sizes = timeline.sizes();
  std::vector<double> blocks(sizes, 0.0);
  for (std::size_t s = 0; s < sizes; ++s) {
    CountPath path;
    path.weight = weights.data();
    path.mean = timeline.live().data() + s;
    path.variance = timeline.live_var().data() + s;
    path.births = timeline.alloc().data() + s;
    path.first_births = timeline.first_alloc().data() + s;
    path.stride = sizes;
    path.points = last + 1;
    // The count can never exceed the allocations of its size: a hard cap the estimate can pass
    // at tiny N.
    double allocations = 0;
    for (std::size_t i = 0; i <= last; ++i) {
      allocations += weights[i] * timeline.alloc()[i * sizes + s];
    }
    blocks[s] = std::min(internal::ExpectedRunningMax(path), allocations);
  }
  return blocks;
}

double SlotsOf(const std::vector<double>& blocks) {
  double slots = 0;
  for (std::size_t s = 0; s < blocks.size(); ++s) slots += static_cast<double>(s) * blocks[s];
  return slots;
}

// The x in [k_{i-1} + 1, k_i + 1] where a prefix sum `cum` (cum[i] = sum over k <= k_i) reaches
// `target`, by linear interpolation; cum[i] > target >= cum[i-1].
double Crossing(const Timeline& timeline, const std::vector<double>& cum, std::size_t i,
                double target) {
  if (i == 0) return 0;
  const double x0 = static_cast<double>(timeline.k(i - 1)) + 1;
  const double x1 = static_cast<double>(timeline.k(i)) + 1;
  const double f = (target - cum[i - 1]) / (cum[i] - cum[i - 1]);
  return x0 + std::clamp(f, 0.0, 1.0) * (x1 - x0);
}

// A prefix sum at a real number of inserts x in [0, n], by linear interpolation between points.
double CumulativeAt(const Timeline& timeline, const std::vector<double>& cum, double x) {
  if (x <= 0) return 0;
  // cum[i] is the sum over the first k_i + 1 inserts.
  std::size_t i = 0;
  while (i < timeline.points() && static_cast<double>(timeline.k(i)) + 1 < x) ++i;
  if (i >= timeline.points()) return cum.back();
  const double x1 = static_cast<double>(timeline.k(i)) + 1;
  const double x0 = i == 0 ? 0 : static_cast<double>(timeline.k(i - 1)) + 1;
  const double c0 = i == 0 ? 0 : cum[i - 1];
  return c0 + (x - x0) / (x1 - x0) * (cum[i] - c0);
}

// Expected number of requests that still fit in the leftover of a bump pool after its first
// failure, when requests have the size distribution `alloc` (by slots): the failing request is
// size-biased and the leftover uniform below it; each later request that fits is served.
double ServedAfterFailure(const std::vector<double>& alloc) {
  double total = 0, biased = 0;
  for (std::size_t s = 0; s < alloc.size(); ++s) {
    total += alloc[s];
    biased += static_cast<double>(s) * alloc[s];
  }
  if (total <= 0 || biased <= 0) return 0;
  // served[r]: expected requests served from leftover r.
  std::vector<double> served(alloc.size(), 0.0);
  for (std::size_t r = 1; r < alloc.size(); ++r) {
    double fits = 0, sum = 0;
    for (std::size_t s = 1; s <= r; ++s) {
      fits += alloc[s];
      sum += alloc[s] * (1 + served[r - s]);
    }
    served[r] = fits > 0 ? sum / fits : 0;
  }
  double expected = 0;
  for (std::size_t s = 1; s < alloc.size(); ++s) {
    if (alloc[s] <= 0) continue;
    double mean_served = 0;
    for (std::size_t r = 0; r < s; ++r) mean_served += served[r];
    expected += static_cast<double>(s) * alloc[s] / biased * mean_served / static_cast<double>(s);
  }
  return expected;
}

std::string FormatCount(double value) {
  std::ostringstream out;
  out.precision(3);
  out << value;
  return out.str();
}

}  // namespace

std::string_view HashAssumptionName(HashAssumption hash) {
  return hash == HashAssumption::kUniform ? "uniform" : "identity";
}

std::string_view PolicyName(Policy policy) {
  return policy == Policy::kBumpPool ? "bump_pool" : "slot_recycler";
}

DemandModel::DemandModel(Layout layout, HashAssumption hash) : layout_(layout), hash_(hash) {
  if (const std::string problem = layout_.Check(); !problem.empty()) {
    throw std::invalid_argument("model::Layout: " + problem);
  }
  if (hash_ == HashAssumption::kUniform) {
    uniform_ = std::make_unique<internal::TrieExpectations>(layout_);
  } else {
    identity_ = std::make_unique<internal::IdentityTrie>(layout_);
  }
}

DemandModel::~DemandModel() = default;
DemandModel::DemandModel(DemandModel&&) noexcept = default;
DemandModel& DemandModel::operator=(DemandModel&&) noexcept = default;

double ExpectedPathNodes(const Layout& layout, std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("ExpectedPathNodes: N must be at least 1");
  double nodes = 1;  // the root
  const double others = static_cast<double>(n - 1);
  for (unsigned depth = 1; depth <= layout.BitmapLevels(); ++depth) {
    const double share = std::ldexp(1.0, -static_cast<int>(layout.PrefixBits(depth)));
    nodes += -std::expm1(others * std::log1p(-share));  // 1 - (1 - share)^others
  }
  return nodes;
}

TrieShape DemandModel::Shape(std::uint64_t n) const {
  if (identity_ && n > identity_->MaxKeys()) {
    throw std::invalid_argument(
        "identity hash: N exceeds the distinct keys the hash can tell apart");
  }
  const internal::ShapeDetail detail = uniform_ ? uniform_->Shape(n) : identity_->Shape(n);
  TrieShape shape;
  shape.n = n;
  shape.nodes_by_depth = detail.nodes_by_depth;
  const unsigned side = detail.max_cells + 1;
  auto add_class = [&](unsigned c, std::uint64_t e, bool collision, double nodes) {
    if (nodes <= 1e-12) return;
    NodeClass cls{c, e, collision, layout_.NodeBytes(c, e), layout_.NodeSlots(c, e), nodes};
    shape.nodes += nodes;
    shape.live_bytes += nodes * static_cast<double>(cls.bytes);
    shape.live_slots += nodes * static_cast<double>(cls.slots);
    if (shape.nodes_by_slots.size() <= cls.slots) shape.nodes_by_slots.resize(cls.slots + 1, 0.0);
    shape.nodes_by_slots[cls.slots] += nodes;
    shape.histogram.push_back(cls);
  };
  for (unsigned c = 0; c < side; ++c) {
    for (unsigned e = 0; c + e < side; ++e) {
      add_class(c, e, false, detail.histogram[static_cast<std::size_t>(c) * side + e]);
    }
  }
  for (std::size_t e = 2; e < detail.collision_nodes_by_entries.size(); ++e) {
    add_class(0, e, true, detail.collision_nodes_by_entries[e]);
  }
  return shape;
}

BuildCost DemandModel::Build(std::uint64_t n) const {
  BuildCost cost;
  cost.n = n;
  if (n == 0) return cost;
  if (identity_) {
    if (n > identity_->MaxKeys()) {
      throw std::invalid_argument(
          "identity hash: N exceeds the distinct keys the hash can tell apart");
    }
    const auto totals = identity_->Build(n);
    const std::size_t sizes = identity_->SizeCount();
    cost.allocations = totals.allocations;
    cost.deallocations = totals.frees;
    cost.bytes_allocated = totals.bytes;
    cost.bump_slots = totals.slots;
    cost.allocations_by_slots = identity_->AllocationsBySlots(n, sizes);
    cost.recycler_blocks_by_slots = identity_->RecyclerBlocks(n, sizes);
    const TrieShape shape = Shape(n);
    cost.live_bytes = shape.live_bytes;
    cost.live_slots = shape.live_slots;
  } else {
    const Timeline timeline = RefinedTimeline(*uniform_, n, /*by_size=*/true);
    const std::size_t last = timeline.points() - 1;
    const std::vector<double> weights = timeline.Weights(last);
    const std::size_t sizes = timeline.sizes();
    cost.allocations_by_slots.assign(sizes, 0.0);
    std::vector<double> slots(timeline.points());
    for (std::size_t i = 0; i <= last; ++i) {
      const Instant& at = timeline.at(i);
      cost.allocations += weights[i] * at.allocations;
      cost.deallocations += weights[i] * at.frees;
      cost.bytes_allocated += weights[i] * at.alloc_bytes;
      cost.bump_slots += weights[i] * at.alloc_slots;
      for (std::size_t s = 0; s < sizes; ++s) {
        cost.allocations_by_slots[s] += weights[i] * timeline.alloc()[i * sizes + s];
      }
      slots[i] = at.alloc_slots;
    }
    cost.quadrature_error = timeline.ErrorEstimate(slots);
    cost.recycler_blocks_by_slots = RecyclerBlocks(timeline, last);
    Instant end;
    uniform_->Evaluate(n, false, end);
    cost.live_bytes = end.live_bytes;
    cost.live_slots = end.live_slots;
  }
  cost.bytes_deallocated = cost.bytes_allocated - cost.live_bytes;
  cost.recycler_slots = SlotsOf(cost.recycler_blocks_by_slots);
  double carved = 0;
  for (double blocks : cost.recycler_blocks_by_slots) carved += blocks;
  cost.recycler_reused_allocations = std::max(0.0, cost.allocations - carved);
  return cost;
}

double DemandModel::DemandSlots(Policy policy, std::uint64_t n) const {
  if (n == 0) return 0;
  if (policy == Policy::kSlotRecycler) return Build(n).recycler_slots;
  if (identity_) return identity_->Build(std::min(n, identity_->MaxKeys())).slots;
  const Timeline timeline = RefinedTimeline(*uniform_, n, /*by_size=*/false);
  return timeline.Cumulative([](const Instant& at) { return at.alloc_slots; }).back();
}

double DemandModel::ExhaustionN(Policy policy, std::uint64_t capacity_slots) const {
  return Pool(policy, capacity_slots, 1).exhaustion_n;
}

double DemandModel::FallbackShare(Policy policy, std::uint64_t capacity_slots,
                                  std::uint64_t n) const {
  return Pool(policy, capacity_slots, n).fallback_share;
}

PoolPrediction DemandModel::Pool(Policy policy, std::uint64_t capacity_slots,
                                 std::uint64_t n) const {
  PoolPrediction out;
  out.policy = policy;
  out.capacity_slots = capacity_slots;
  out.n = n;
  const double capacity = static_cast<double>(capacity_slots);
  // Upper bound on the exhaustion N: a bump pool gets at least a one-entry node per insert, a
  // recycler holds at least every live entry.
  const double per_key = policy == Policy::kBumpPool ? static_cast<double>(layout_.NodeSlots(0, 1))
                                                     : static_cast<double>(layout_.entry_bytes) /
                                                           static_cast<double>(layout_.slot_bytes);
  double limit = kSearchLimit;
  if (identity_) limit = std::min(limit, static_cast<double>(identity_->MaxKeys()));
  const double bound = std::min(limit, std::floor(capacity / per_key) + 2);

  if (identity_) {
    const std::uint64_t hi_n = static_cast<std::uint64_t>(bound);
    auto demand = [&](std::uint64_t keys) {
      return policy == Policy::kBumpPool
                 ? identity_->Build(keys).slots
                 : SlotsOf(identity_->RecyclerBlocks(keys, identity_->SizeCount()));
    };
    // Largest N with demand(N) <= C, by bisection (demand is nondecreasing in N).
    std::uint64_t lo = 0, hi = hi_n;
    if (demand(hi) <= capacity) {
      out.exhaustion_n = kInfinity;
      lo = hi;
    } else {
      while (hi - lo > 1) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        (demand(mid) <= capacity ? lo : hi) = mid;
      }
      out.exhaustion_n = static_cast<double>(lo);
    }
    const std::uint64_t keys = std::min(n, identity_->MaxKeys());
    const auto totals = identity_->Build(keys);
    out.allocations = totals.allocations;
    if (keys <= lo || out.exhaustion_n == kInfinity) {
      out.slots_demanded = demand(keys);
      return out;
    }
    if (policy == Policy::kSlotRecycler) {
      // Past exhaustion the identity trie frees its nodes round-robin, not at random: the
      // mean-field flow of the uniform model does not apply (see Warnings).
      out.fallback_allocations = out.fallback_share = out.slots_demanded =
          std::numeric_limits<double>::quiet_NaN();
      return out;
    }
    // Bump pool: replay the allocations from the first failure, serving those that still fit.
    const std::uint64_t first = lo;  // key index of the insert that fails
    double left = capacity - identity_->Build(first).slots;
    double served = 0;
    const double min_slots = static_cast<double>(layout_.NodeSlots(0, 1));
    for (std::uint64_t k = first; k < keys && left >= min_slots;) {
      const auto step = identity_->Insert(k);
      bool fits = false;
      for (unsigned a = 0; a < step.allocations; ++a) {
        fits |= static_cast<double>(step.alloc_slots[a]) <= left;
      }
      if (!fits) {
        // Every insert of the same round allocates the same sizes: skip to the round's end.
        std::uint64_t next = k + 1;
        for (unsigned t = 1; t < layout_.BitmapLevels(); ++t) {
          const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(t);
          if (k / q >= 2) next = std::max(next, (k / q + 1) * q);
        }
        k = next;
        continue;
      }
      for (unsigned a = 0; a < step.allocations; ++a) {
        if (static_cast<double>(step.alloc_slots[a]) <= left) {
          left -= static_cast<double>(step.alloc_slots[a]);
          served += 1;
        }
      }
      ++k;
    }
    out.fallback_allocations = totals.allocations - identity_->Build(first).allocations - served;
    out.fallback_share = out.fallback_allocations / out.allocations;
    out.slots_demanded = totals.slots;
    return out;
  }

  // Uniform hashes. The exhaustion point comes from a timeline that depends on the pool alone
  // (its grid is the same for every N), so ExhaustionN, FallbackShare and Pool agree with each
  // other for every N; the totals at N come from the timeline Build(N) uses.
  const auto search_n = static_cast<std::uint64_t>(bound);
  if (n > 0) {
    const Timeline at_n = RefinedTimeline(*uniform_, n, /*by_size=*/false);
    out.allocations = at_n.Cumulative([](const Instant& at) { return at.allocations; }).back();
    out.slots_demanded = at_n.Cumulative([](const Instant& at) { return at.alloc_slots; }).back();
  }
  const double at_n = static_cast<double>(n);
  if (policy == Policy::kBumpPool) {
    const Timeline timeline = RefinedTimeline(*uniform_, std::max<std::uint64_t>(search_n, 1),
                                              /*by_size=*/false);
    const auto demand = timeline.Cumulative([](const Instant& at) { return at.alloc_slots; });
    const auto allocs = timeline.Cumulative([](const Instant& at) { return at.allocations; });
    std::size_t i = 0;
    while (i < timeline.points() && demand[i] <= capacity) ++i;
    if (i == timeline.points()) {
      out.exhaustion_n = kInfinity;
      return out;
    }
    const double x = Crossing(timeline, demand, i, capacity);
    out.exhaustion_n = x;
    if (at_n <= x) return out;
    Instant sizes;
    sizes.Resize(uniform_->SizeCount(search_n));
    uniform_->Evaluate(static_cast<std::uint64_t>(x), true, sizes);
    const double after = out.allocations - CumulativeAt(timeline, allocs, x);
    out.fallback_allocations =
        std::max(0.0, after - std::min(after, ServedAfterFailure(sizes.alloc)));
    out.fallback_share = out.fallback_allocations / out.allocations;
    return out;
  }

  // Slot recycler: carved slots R(prefix) grow with the prefix; find where they pass C.
  const Timeline timeline = RefinedTimeline(
      *uniform_, std::max<std::uint64_t>(std::max(search_n, n), 1), /*by_size=*/true);
  auto carved_slots = [&](std::size_t last) { return SlotsOf(RecyclerBlocks(timeline, last)); };
  // R at a real number of inserts x, interpolated between the grid points around insert x - 1.
  auto carved_at = [&](double x) {
    const auto it = std::lower_bound(timeline.ks().begin(), timeline.ks().end(),
                                     static_cast<std::uint64_t>(std::max(x - 1, 0.0)));
    const std::size_t j = std::min<std::size_t>(it - timeline.ks().begin(), timeline.points() - 1);
    const double r_j = carved_slots(j);
    if (j == 0 || static_cast<double>(timeline.k(j)) <= x - 1) return r_j;
    const double k0 = static_cast<double>(timeline.k(j - 1)),
                 k1 = static_cast<double>(timeline.k(j));
    const double r0 = carved_slots(j - 1);
    return r0 + (x - 1 - k0) / (k1 - k0) * (r_j - r0);
  };
  // The search runs over the points up to the bound only, whatever N is.
  const std::size_t last = std::min<std::size_t>(
      timeline.points() - 1, std::lower_bound(timeline.ks().begin(), timeline.ks().end(),
                                              std::max<std::uint64_t>(search_n, 1) - 1) -
                                 timeline.ks().begin());
  const double carved_last = carved_slots(last);
  if (carved_last <= capacity) {
    out.exhaustion_n = kInfinity;
    if (n > 0) out.slots_demanded = carved_at(at_n);
    return out;
  }
  // Bracket carved(lo) <= C < carved(hi) by false position on x (carved slots grow about linearly
  // in the inserts), safeguarded by bisection; each step is one RecyclerBlocks.
  std::size_t lo = 0, hi = last;
  double r_lo_bracket = 0, r_hi_bracket = carved_last;
  if (carved_slots(0) > capacity) {
    hi = 0;
  } else {
    r_lo_bracket = carved_slots(0);
    bool bisect = false;
    while (hi - lo > 1) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (!bisect) {
        const double x_lo = static_cast<double>(timeline.k(lo));
        const double x_hi = static_cast<double>(timeline.k(hi));
        const double x =
            x_lo + (capacity - r_lo_bracket) / (r_hi_bracket - r_lo_bracket) * (x_hi - x_lo);
        const auto it = std::lower_bound(timeline.ks().begin() + lo + 1, timeline.ks().begin() + hi,
                                         static_cast<std::uint64_t>(std::max(x, 0.0)));
        mid = std::clamp<std::size_t>(static_cast<std::size_t>(it - timeline.ks().begin()), lo + 1,
                                      hi - 1);
      }
      const double r_mid = carved_slots(mid);
      const std::size_t before = hi - lo;
      if (r_mid <= capacity) {
        lo = mid;
        r_lo_bracket = r_mid;
      } else {
        hi = mid;
        r_hi_bracket = r_mid;
      }
      // False position can crawl from one side; then halve.
      bisect = hi - lo > before / 2;
    }
  }
  const std::vector<double> blocks_hi = RecyclerBlocks(timeline, hi);
  const std::vector<double> blocks_lo =
      hi == 0 ? std::vector<double>(blocks_hi.size(), 0.0) : RecyclerBlocks(timeline, lo);
  const double r_lo = hi == 0 ? 0 : SlotsOf(blocks_lo), r_hi = SlotsOf(blocks_hi);
  const double f = r_hi > r_lo ? std::clamp((capacity - r_lo) / (r_hi - r_lo), 0.0, 1.0) : 1.0;
  const double x_lo = hi == 0 ? 0 : static_cast<double>(timeline.k(lo)) + 1;
  const double exhaustion = x_lo + f * (static_cast<double>(timeline.k(hi)) + 1 - x_lo);
  out.exhaustion_n = exhaustion;
  if (at_n <= exhaustion) {
    if (n > 0) out.slots_demanded = carved_at(at_n);
    return out;
  }
  // Past exhaustion, per size: F blocks were carved, and they circulate. A freed block is a pool
  // block with probability (pool blocks live) / (all blocks live) of its size, leaving out full
  // nodes, which are never freed (measured: true to 1% for every size); an allocation is served
  // from the free list while it holds a block, else falls back. The flow is integrated over the
  // inserts from the exhaustion point to N, the rates interpolated linearly between points.
  const std::size_t sizes = timeline.sizes();
  double fallbacks = 0, fallback_slots = 0;
  for (std::size_t s = 0; s < sizes; ++s) {
    auto value = [&](const std::vector<double>& field, std::size_t i) {
      return field[i * sizes + s];
    };
    // A field at the exhaustion point, between grid points lo and hi.
    auto at_exhaustion = [&](const std::vector<double>& field) {
      const double left = hi == 0 ? 0 : value(field, lo);
      return left + f * (value(field, hi) - left);
    };
    const double carved = blocks_lo[s] + f * (blocks_hi[s] - blocks_lo[s]);
    // Every block live at exhaustion is a pool block; the full ones stay live for good.
    double pool_live = std::min(carved, at_exhaustion(timeline.live()));
    double pool_full = std::min(pool_live, at_exhaustion(timeline.full()));
    double fallback = 0;
    // Spans [x, right] of inserts from the exhaustion point to N, cut at the grid points; rates
    // interpolated between the grid points around the span (held past the last one).
    double x = exhaustion;
    for (std::size_t i = hi; x < at_n; ++i) {
      const std::size_t right_point = std::min(i, timeline.points() - 1);
      const std::size_t left_point = right_point == 0 ? 0 : right_point - 1;
      const double right =
          std::min(at_n, i < timeline.points() ? static_cast<double>(timeline.k(i)) + 1 : at_n);
      const double span = right - x;
      if (span <= 0) continue;
      const double k_left = static_cast<double>(timeline.k(left_point));
      const double k_right = static_cast<double>(timeline.k(right_point));
      auto at = [&](const std::vector<double>& field, double t) {
        if (k_right <= k_left) return value(field, right_point);
        const double u = std::clamp((t - 1 - k_left) / (k_right - k_left), 0.0, 1.0);
        return value(field, left_point) +
               u * (value(field, right_point) - value(field, left_point));
      };
      const double mid = x + span / 2;
      const double live = at(timeline.live(), mid);
      const double full = at(timeline.full(), mid);
      const double births = at(timeline.alloc(), mid);
      const double frees = at(timeline.freed(), mid);
      // New full nodes over the span: births that will never be freed.
      const double new_full = std::max(0.0, at(timeline.full(), right) - at(timeline.full(), x));
      x = right;
      if (births <= 0 && frees <= 0) continue;
      // Sub-steps short enough that one frees at most 5% of the live blocks of this size.
      const double steps =
          std::min(1e5, std::max(1.0, std::ceil(span * frees / std::max(live, 1e-9) / 0.05)));
      const double dt = span / steps;
      const double freeable = live - full;
      for (double step = 0; step < steps; ++step) {
        const double pool_frees =
            freeable > 0
                ? std::min(pool_live - pool_full, frees * dt * (pool_live - pool_full) / freeable)
                : 0;
        pool_live -= pool_frees;
        const double wanted = births * dt;
        const double served = std::min(wanted, std::max(0.0, carved - pool_live));
        pool_live += served;
        fallback += wanted - served;
        if (wanted > 0) pool_full += new_full / steps * (served / wanted);
      }
    }
    fallbacks += fallback;
    fallback_slots += static_cast<double>(s) * fallback;
  }
  out.fallback_allocations = std::min(fallbacks, out.allocations);
  out.fallback_share = out.fallback_allocations / out.allocations;
  out.slots_demanded = capacity + fallback_slots;
  return out;
}

std::uint64_t DemandModel::RecommendedSlots(Policy policy, std::uint64_t n,
                                            double headroom_pct) const {
  if (headroom_pct < 0) throw std::invalid_argument("RecommendedSlots: headroom_pct must be >= 0");
  return static_cast<std::uint64_t>(std::ceil(DemandSlots(policy, n) * (1 + headroom_pct / 100)));
}

std::vector<CurvePoint> DemandModel::Curve(std::uint64_t n_min, std::uint64_t n_max,
                                           int points) const {
  if (n_min < 1 || n_max < n_min || points < 1) {
    throw std::invalid_argument("Curve: need 1 <= n_min <= n_max and points >= 1");
  }
  std::vector<std::uint64_t> ns;
  for (int j = 0; j < points; ++j) {
    const double t = points == 1 ? 0 : static_cast<double>(j) / (points - 1);
    ns.push_back(static_cast<std::uint64_t>(
        std::llround(std::exp(std::log(static_cast<double>(n_min)) * (1 - t) +
                              std::log(static_cast<double>(n_max)) * t))));
  }
  ns.front() = n_min;
  ns.back() = n_max;
  std::sort(ns.begin(), ns.end());
  ns.erase(std::unique(ns.begin(), ns.end()), ns.end());
  std::vector<CurvePoint> curve;
  if (identity_) {
    for (std::uint64_t n : ns) {
      const BuildCost cost = Build(n);
      curve.push_back({n, cost.BumpSlotsPerEntry(), cost.RecyclerSlotsPerEntry(),
                       cost.live_bytes / static_cast<double>(n),
                       cost.live_slots / static_cast<double>(n), cost.AllocationsPerEntry()});
    }
    return curve;
  }
  std::vector<std::uint64_t> marks;
  for (std::uint64_t n : ns) marks.push_back(n - 1);
  const Timeline timeline = RefinedTimeline(*uniform_, n_max, /*by_size=*/true, marks);
  const auto demand = timeline.Cumulative([](const Instant& at) { return at.alloc_slots; });
  const auto allocs = timeline.Cumulative([](const Instant& at) { return at.allocations; });
  for (std::uint64_t n : ns) {
    const std::size_t i = timeline.IndexOf(n - 1);
    Instant end;
    uniform_->Evaluate(n, false, end);
    const double per = 1.0 / static_cast<double>(n);
    curve.push_back({n, demand[i] * per, SlotsOf(RecyclerBlocks(timeline, i)) * per,
                     end.live_bytes * per, end.live_slots * per, allocs[i] * per});
  }
  return curve;
}

std::vector<std::string> DemandModel::Warnings(std::uint64_t n) const {
  std::vector<std::string> warnings;
  const double nn = static_cast<double>(n);
  if (identity_) {
    warnings.push_back(
        "identity hash: exact for the keys 0..N-1 inserted in order, and only for them; the trie "
        "is perfectly balanced, not random");
    if (n > identity_->MaxKeys()) {
      warnings.push_back("identity hash: N exceeds the " +
                         FormatCount(static_cast<double>(identity_->MaxKeys())) +
                         " keys the hash can tell apart");
    }
    warnings.push_back(
        "identity hash: a slot recycler's fallbacks past exhaustion are not modeled (its trie "
        "frees "
        "nodes round-robin, not at random)");
    return warnings;
  }
  if (nn > std::ldexp(1.0, static_cast<int>(layout_.hash_bits) / 2)) {
    warnings.push_back("N = " + FormatCount(nn) +
                       " > 2^(hash_bits/2): keys sharing every hash bit "
                       "are likely; the model counts their collision nodes as i.i.d. hashes would "
                       "have them, a bijective hash of distinct keys has none");
  }
  if (n < 10000) {
    warnings.push_back(
        "N < 10,000: the slot recycler's demand (an estimate of expected maxima) is good to ~1.5% "
        "here, and one trie deviates from the expectation by 2-4% (the seed-to-seed spread)");
  }
  return warnings;
}

}  // namespace model
