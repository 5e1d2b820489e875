#include "model/internal/timeline.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace model::internal {
namespace {

struct Three {
  double a, b, c;
};

// Weights of f(xa), f(xb), f(xc) in the integral over [lo, hi] of the parabola through the three
// points. Coordinates are shifted to lo so that k ~ 1e9 loses no precision.
Three ParabolaWeights(double xa, double xb, double xc, double lo, double hi) {
  const double h = hi - lo;
  auto integral = [h](double u, double v) {  // integral_0^h (t - u)(t - v) dt
    return h * h * h / 3 - (u + v) * h * h / 2 + u * v * h;
  };
  const double a = xa - lo, b = xb - lo, c = xc - lo;
  return {integral(b, c) / ((a - b) * (a - c)), integral(a, c) / ((b - a) * (b - c)),
          integral(a, b) / ((c - a) * (c - b))};
}

}  // namespace

Timeline::Timeline(const TrieExpectations& trie, std::uint64_t n, bool by_size, double per_e,
                   const std::vector<std::uint64_t>& marks)
    : n_(n) {
  if (n == 0) throw std::invalid_argument("Timeline: n must be >= 1");
  const std::uint64_t exact = std::min(n, kExactInserts);
  for (std::uint64_t k = 0; k < exact; ++k) ks_.push_back(k);
  exact_points_ = ks_.size();
  if (n > kExactInserts) {
    // The fixed points: the last insert and the marks. A log-spaced point closer to one of them
    // than 30% of the local spacing gives way to it, so the spacing stays regular and a timeline
    // that ends at a mark has the same points as this one up to there.
    std::vector<std::uint64_t> fixed{n - 1};
    for (std::uint64_t mark : marks) {
      if (mark > kExactInserts && mark < n) fixed.push_back(mark);
    }
    std::sort(fixed.begin(), fixed.end());
    fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
    const double gap = 0.3 / per_e;
    std::vector<std::uint64_t> tail;
    const double first = static_cast<double>(kExactInserts);
    const double last = static_cast<double>(n - 1);
    const double steps = std::ceil(std::log(last / first) * per_e);
    for (double t = 0; t < steps; ++t) {
      const double x = first * std::exp(t / per_e);
      const auto k = static_cast<std::uint64_t>(std::llround(x));
      const auto near = std::lower_bound(fixed.begin(), fixed.end(),
                                         static_cast<std::uint64_t>(x * std::exp(-gap)));
      const bool yields =
          t > 0 && near != fixed.end() && static_cast<double>(*near) < x * std::exp(gap);
      if (!yields) tail.push_back(k);
    }
    tail.insert(tail.end(), fixed.begin(), fixed.end());
    std::sort(tail.begin(), tail.end());
    tail.erase(std::unique(tail.begin(), tail.end()), tail.end());
    ks_.insert(ks_.end(), tail.begin(), tail.end());
  }
  sizes_ = by_size ? trie.SizeCount(n) : 0;
  instants_.resize(ks_.size());
  if (by_size) {
    live_.assign(ks_.size() * sizes_, 0.0);
    live_var_ = alloc_ = freed_ = first_alloc_ = full_ = live_;
  }
  Instant scratch;
  if (by_size) scratch.Resize(sizes_);
  for (std::size_t i = 0; i < ks_.size(); ++i) {
    trie.Evaluate(ks_[i], by_size, scratch);
    Instant& kept = instants_[i];
    kept.nodes = scratch.nodes;
    kept.live_bytes = scratch.live_bytes;
    kept.live_slots = scratch.live_slots;
    kept.allocations = scratch.allocations;
    kept.alloc_bytes = scratch.alloc_bytes;
    kept.alloc_slots = scratch.alloc_slots;
    kept.frees = scratch.frees;
    if (by_size) {
      std::copy(scratch.live.begin(), scratch.live.end(), live_.begin() + i * sizes_);
      std::copy(scratch.live_var.begin(), scratch.live_var.end(), live_var_.begin() + i * sizes_);
      std::copy(scratch.alloc.begin(), scratch.alloc.end(), alloc_.begin() + i * sizes_);
      std::copy(scratch.freed.begin(), scratch.freed.end(), freed_.begin() + i * sizes_);
      std::copy(scratch.first_alloc.begin(), scratch.first_alloc.end(),
                first_alloc_.begin() + i * sizes_);
      std::copy(scratch.full.begin(), scratch.full.end(), full_.begin() + i * sizes_);
    }
  }
}

std::size_t Timeline::IndexOf(std::uint64_t k) const {
  const auto it = std::lower_bound(ks_.begin(), ks_.end(), k);
  return it != ks_.end() && *it == k ? static_cast<std::size_t>(it - ks_.begin()) : points();
}

std::vector<double> Timeline::Weights(std::size_t last) const {
  std::vector<double> w(last + 1, 0.0);
  const std::size_t e = exact_points_;
  for (std::size_t i = 0; i <= last && i < e; ++i) w[i] = 1;
  if (last < e) return w;
  // sum_{k=x_e}^{x_last} g(k) = integral + (g(x_e) + g(x_last)) / 2.
  w[e] += 0.5;
  w[last] += 0.5;
  auto x = [this](std::size_t i) { return static_cast<double>(ks_[i]); };
  for (std::size_t j = e; j < last; ++j) {
    // Interval [x_j, x_{j+1}]: the backward parabola (j-1, j, j+1), averaged with the forward one
    // (j, j+1, j+2) when that point is inside the prefix. j - 1 >= e - 1 >= 0.
    const Three back = ParabolaWeights(x(j - 1), x(j), x(j + 1), x(j), x(j + 1));
    if (j + 2 <= last) {
      const Three fwd = ParabolaWeights(x(j), x(j + 1), x(j + 2), x(j), x(j + 1));
      w[j - 1] += back.a / 2;
      w[j] += (back.b + fwd.a) / 2;
      w[j + 1] += (back.c + fwd.b) / 2;
      w[j + 2] += fwd.c / 2;
    } else {
      w[j - 1] += back.a;
      w[j] += back.b;
      w[j + 1] += back.c;
    }
  }
  return w;
}

std::vector<double> Timeline::TrapezoidWeights(std::size_t last) const {
  std::vector<double> w(last + 1, 0.0);
  const std::size_t e = exact_points_;
  for (std::size_t i = 0; i <= last && i < e; ++i) w[i] = 1;
  if (last < e) return w;
  w[e] += 0.5;
  w[last] += 0.5;
  for (std::size_t j = e; j < last; ++j) {
    const double h = static_cast<double>(ks_[j + 1] - ks_[j]);
    w[j] += h / 2;
    w[j + 1] += h / 2;
  }
  return w;
}

std::vector<double> Timeline::CumulativeOf(const std::vector<double>& values) const {
  std::vector<double> out(points(), 0.0);
  const std::size_t e = exact_points_;
  double sum = 0;
  for (std::size_t i = 0; i < e; ++i) {
    sum += values[i];
    out[i] = sum;
  }
  if (points() == e) return out;
  auto x = [this](std::size_t i) { return static_cast<double>(ks_[i]); };
  // settled: the integral over [x_e, x_j] with every interval closed by its central rule.
  double settled = 0;
  const double before = e > 0 ? out[e - 1] : 0;
  out[e] = before + values[e];
  for (std::size_t i = e + 1; i < points(); ++i) {
    // Intervals before [x_{i-1}, x_i] are closed by the central rule; settle [x_{i-2}, x_{i-1}],
    // whose forward parabola needed x_i.
    if (i >= e + 2) {
      const std::size_t a = i - 2;
      const Three back = ParabolaWeights(x(a - 1), x(a), x(a + 1), x(a), x(a + 1));
      const Three fwd = ParabolaWeights(x(a), x(a + 1), x(a + 2), x(a), x(a + 1));
      settled += (back.a * values[a - 1] + (back.b + fwd.a) * values[a] +
                  (back.c + fwd.b) * values[a + 1] + fwd.c * values[a + 2]) /
                 2;
    }
    // The last interval [x_{i-1}, x_i] has only its backward parabola inside the prefix.
    const std::size_t j = i - 1;
    const Three back = ParabolaWeights(x(j - 1), x(j), x(i), x(j), x(i));
    const double last_interval = back.a * values[j - 1] + back.b * values[j] + back.c * values[i];
    out[i] = before + settled + last_interval + (values[e] + values[i]) / 2;
  }
  return out;
}

double Timeline::ErrorEstimate(const std::vector<double>& values) const {
  const std::size_t e = exact_points_;
  if (points() < e + 5) return 0;
  auto integrate = [&](const std::vector<std::size_t>& idx) {
    double total = 0;
    for (std::size_t t = 0; t + 1 < idx.size(); ++t) {
      const std::size_t j = idx[t], i = idx[t + 1];
      const double xj = static_cast<double>(ks_[j]), xi = static_cast<double>(ks_[i]);
      const std::size_t prev = t == 0 ? e - 1 : idx[t - 1];
      const double xp = static_cast<double>(ks_[prev]);
      const Three back = ParabolaWeights(xp, xj, xi, xj, xi);
      double v = back.a * values[prev] + back.b * values[j] + back.c * values[i];
      if (t + 2 < idx.size()) {
        const std::size_t f = idx[t + 2];
        const Three fwd = ParabolaWeights(xj, xi, static_cast<double>(ks_[f]), xj, xi);
        v = (v + fwd.a * values[j] + fwd.b * values[i] + fwd.c * values[f]) / 2;
      }
      total += v;
    }
    return total;
  };
  std::vector<std::size_t> fine, coarse;
  for (std::size_t i = e; i < points(); ++i) {
    fine.push_back(i);
    if ((i - e) % 2 == 0 || i + 1 == points()) coarse.push_back(i);
  }
  const double a = integrate(fine), b = integrate(coarse);
  // The rule is third order: the fine grid's error is about 1/7 of the difference.
  return a == 0 ? 0 : std::abs(a - b) / 7 / std::abs(a);
}

}  // namespace model::internal
