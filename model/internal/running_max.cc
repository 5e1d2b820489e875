#include "model/internal/running_max.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace model::internal {
namespace {

// Levels further than this many standard deviations from a point's mean get no weight from it.
constexpr double kTailSigmas = 10.0;
// Up to this many levels, each level is computed (exact laws); beyond, the normal approximation on
// kGaussianLevels sampled levels.
constexpr std::size_t kMaxExactLevels = 600;
constexpr std::size_t kGaussianLevels = 200;
// A node that leaves a size and comes back re-crosses the level its own departure crossed down: a
// new clump only if the count relaxed in between. Counting no return (first visits only) and every
// return bracket the real recycler's peaks (N = 1K..100K: -4.5..-0.9% and +0.9..+2.8%); returns
// count half.
constexpr double kReturnWeight = 0.5;

// The law of a count with a given mean and variance: Poisson when the variance is not below the
// mean, else the binomial with that mean and (nearly) that variance.
class CountLaw {
 public:
  CountLaw(double mean, double variance) : mean_(std::max(mean, 0.0)) {
    if (mean_ > 0 && variance >= 0 && variance < mean_ * (1 - 1e-9)) {
      const double n = std::round(mean_ * mean_ / (mean_ - variance));
      if (n >= 1 && n < 1e9) {
        binomial_ = true;
        trials_ = std::max(n, std::ceil(mean_));
        p_ = mean_ / trials_;
      }
    }
    if (binomial_ && p_ >= 1) {
      // The count is certain: all trials succeed.
      p_ = 1;
    }
  }

  double mean() const { return mean_; }
  double sigma() const { return std::sqrt(binomial_ ? trials_ * p_ * (1 - p_) : mean_); }

  // log P(X = x), -inf outside the support.
  double LogPmf(double x) const {
    if (x < 0) return -INFINITY;
    if (!binomial_) {
      if (mean_ == 0) return x == 0 ? 0.0 : -INFINITY;
      return x * std::log(mean_) - mean_ - std::lgamma(x + 1);
    }
    if (x > trials_) return -INFINITY;
    if (p_ >= 1) return x == trials_ ? 0.0 : -INFINITY;
    return std::lgamma(trials_ + 1) - std::lgamma(x + 1) - std::lgamma(trials_ - x + 1) +
           x * std::log(p_) + (trials_ - x) * std::log1p(-p_);
  }

  // P(X = x + 1) / P(X = x).
  double Ratio(double x) const {
    if (!binomial_) return mean_ / (x + 1);
    if (x + 1 > trials_ || p_ >= 1) return 0;
    return (trials_ - x) / (x + 1) * (p_ / (1 - p_));
  }

 private:
  double mean_;
  bool binomial_ = false;
  double trials_ = 0;
  double p_ = 0;
};

struct Point {
  double weight, mean, variance;
  double births;        // allocations of this size per insert
  double clump_births;  // the births that can start a new clump: first visits and half the returns
};

Point At(const CountPath& path, std::size_t i) {
  const std::size_t at = i * path.stride;
  Point point{path.weight[i], std::max(path.mean[at], 0.0), 0, std::max(path.births[at], 0.0), 0};
  const double first = path.first_births != nullptr
                           ? std::clamp(path.first_births[at], 0.0, point.births)
                           : point.births;
  point.clump_births = first + kReturnWeight * (point.births - first);
  point.variance =
      path.variance != nullptr ? std::clamp(path.variance[at], 0.0, point.mean) : point.mean;
  return point;
}

// An insert allocates a block of a given size mostly 0 or 1 times: Bernoulli variance.
double BirthVariance(double births) { return births * (1 - std::min(births, 1.0)); }

// The points whose marginal law gives the lower bound max_t P(X(t) >= j): for a count whose law
// grows with its mean, the point of the largest mean (and the last one, where a rising count
// ends) carries the maximum; other points add nothing but cost.
std::vector<std::size_t> MarginalPoints(const CountPath& path) {
  std::size_t best = 0;
  double top = -1;
  for (std::size_t i = 0; i < path.points; ++i) {
    const Point pt = At(path, i);
    if (pt.mean + pt.births > top) {
      top = pt.mean + pt.births;
      best = i;
    }
  }
  std::vector<std::size_t> points{best};
  if (path.points > 0 && best != path.points - 1) points.push_back(path.points - 1);
  return points;
}

// Levels computed one by one from exact laws (counts up to a few hundred).
double ExactLevels(const CountPath& path, double top, std::size_t lo, std::size_t hi) {
  const std::size_t levels = hi - lo + 1;
  std::vector<double> upcrossings(levels, 0.0), marginal(levels, 0.0), pmf;
  for (std::size_t i : MarginalPoints(path)) {
    // The count right after the insert's allocations: P(X >= j) for the lower bound.
    const Point pt = At(path, i);
    const CountLaw law(pt.mean + pt.births, pt.variance + BirthVariance(pt.births));
    const double sd = law.sigma() + 1;
    const double x_lo = std::max(0.0, std::floor(law.mean() - kTailSigmas * sd - 5));
    const double x_hi = std::ceil(law.mean() + kTailSigmas * sd + 10);
    if (x_hi < static_cast<double>(lo)) continue;
    // Survival from the top down over [max(lo, x_lo), x_hi]; levels below x_lo have sf ~ 1.
    const double start = std::max(static_cast<double>(lo), x_lo);
    pmf.clear();
    double p = std::exp(law.LogPmf(start));
    for (double x = start; x <= x_hi; ++x) {
      pmf.push_back(p);
      p *= law.Ratio(x);
    }
    double tail = 0;
    for (std::size_t t = pmf.size(); t-- > 0;) {
      tail += pmf[t];
      const double j = start + static_cast<double>(t);
      if (j <= static_cast<double>(hi)) {
        auto& m = marginal[static_cast<std::size_t>(j) - lo];
        m = std::max(m, std::min(tail, 1.0));
      }
    }
    for (double j = static_cast<double>(lo); j < start && j <= static_cast<double>(hi); ++j) {
      marginal[static_cast<std::size_t>(j) - lo] = 1.0;
    }
  }
  for (std::size_t i = 0; i < path.points; ++i) {
    const Point pt = At(path, i);
    if (pt.clump_births <= 0 || pt.weight <= 0) continue;
    // Upcrossings of j from j - 1, for x = j - 1 in [max(lo - 1, x_lo), min(hi - 1, x_hi)].
    const CountLaw law(pt.mean, pt.variance);
    const double sd = law.sigma() + 1;
    const double x0 = std::floor(law.mean());
    const double x_lo =
        std::max({static_cast<double>(lo) - 1, 0.0, std::floor(law.mean() - kTailSigmas * sd - 5)});
    const double x_hi =
        std::min(static_cast<double>(hi) - 1, std::ceil(law.mean() + kTailSigmas * sd + 10));
    if (x_lo > x_hi) continue;
    // theta needs the sum from x0: start the recurrence at min(x0, x_lo).
    const double start = std::min(x0, x_lo);
    double p = std::exp(law.LogPmf(start));
    double sum = 0;  // sum_{x'=x0}^{x} pmf(x) / pmf(x')
    const double rate = pt.weight * pt.clump_births;
    for (double x = start; x <= x_hi; ++x) {
      if (x == x0) {
        sum = 1;
      } else if (x > x0) {
        sum = 1 + sum * law.Ratio(x - 1);
      }
      if (x >= x_lo) {
        const double theta = x <= x0 ? 1.0 : 1.0 / sum;
        upcrossings[static_cast<std::size_t>(x + 1) - lo] += rate * p * theta;
      }
      p *= law.Ratio(x);
    }
  }
  double expected = static_cast<double>(lo) - 1;  // levels 1..lo-1 are reached for sure
  for (std::size_t t = 0; t < levels; ++t) {
    expected += 1 - (1 - marginal[t]) * std::exp(-upcrossings[t]);
  }
  return std::max(expected, top);
}

// Large counts: normal laws, levels sampled.
double GaussianLevels(const CountPath& path, double top, double lo, double hi) {
  const std::size_t levels = kGaussianLevels;
  const double step = (hi - lo) / static_cast<double>(levels - 1);
  std::vector<double> upcrossings(levels, 0.0), marginal(levels, 0.0);
  constexpr double kInvSqrt2Pi = 0.3989422804014327;
  for (std::size_t i : MarginalPoints(path)) {
    const Point pt = At(path, i);
    const double mean = pt.mean + pt.births;
    const double sd = std::sqrt(pt.variance + BirthVariance(pt.births)) + 1e-300;
    for (std::size_t t = 0; t < levels; ++t) {
      const double j = lo + step * static_cast<double>(t);
      const double z = (j - 0.5 - mean) / sd;
      if (z > kTailSigmas) break;
      marginal[t] = std::max(marginal[t], 0.5 * std::erfc(z / std::sqrt(2.0)));
    }
  }
  for (std::size_t i = 0; i < path.points; ++i) {
    const Point pt = At(path, i);
    if (pt.clump_births <= 0 || pt.weight <= 0 || pt.variance <= 0) continue;
    const double sd = std::sqrt(pt.variance);
    const double scale = std::sqrt(2 * pt.variance);
    const double rate = pt.weight * pt.clump_births;
    // Only the sampled levels within kTailSigmas of this point's mean.
    const double first = std::ceil((pt.mean + 1 - kTailSigmas * sd - lo) / step);
    const double last = std::floor((pt.mean + 1 + kTailSigmas * sd - lo) / step);
    for (double tt = std::max(first, 0.0); tt <= std::min(last, static_cast<double>(levels - 1));
         ++tt) {
      const auto t = static_cast<std::size_t>(tt);
      const double x = lo + step * tt - 1;
      const double z = (x - pt.mean) / sd;
      const double u = x - std::floor(pt.mean);
      const double sum = u <= 0.5 ? 1.0 : std::max(1.0, scale * Dawson(u / scale) + 0.5);
      upcrossings[t] += rate * kInvSqrt2Pi / sd * std::exp(-0.5 * z * z) / sum;
    }
  }
  // sum over the integer levels lo..hi of P(max >= j), by the trapezoid rule on the samples.
  double sum = 0;
  for (std::size_t t = 0; t < levels; ++t) {
    const double p = 1 - (1 - marginal[t]) * std::exp(-upcrossings[t]);
    sum += (t == 0 || t == levels - 1 ? 0.5 : 1.0) * p * step;
    if (t == 0 || t == levels - 1) sum += 0.5 * p;
  }
  return std::max(lo - 1 + sum, top);
}

}  // namespace

double ExpectedRunningMax(const CountPath& path) {
  double top = 0;
  for (std::size_t i = 0; i < path.points; ++i) {
    const Point pt = At(path, i);
    top = std::max(top, pt.mean + pt.births);
  }
  if (top <= 0) return 0;
  const double spread = kTailSigmas * std::sqrt(std::max(top, 1.0));
  const double lo = std::max(1.0, std::floor(top - spread - 3));
  const double hi = std::ceil(top + spread + 12);
  if (hi - lo + 1 <= static_cast<double>(kMaxExactLevels)) {
    return ExactLevels(path, top, static_cast<std::size_t>(lo), static_cast<std::size_t>(hi));
  }
  return GaussianLevels(path, top, lo, hi);
}

double Dawson(double x) {
  if (x < 0) return -Dawson(-x);
  constexpr double kStep = 1.0 / 1024;
  constexpr double kTableEnd = 8.0;
  // F' = 1 - 2 x F, F(0) = 0, tabulated once by RK4 (stable: the solution decays like 1/(2x)).
  static const std::vector<double> table = [] {
    std::vector<double> f(static_cast<std::size_t>(kTableEnd / kStep) + 2);
    double y = 0;
    const int sub = 8;
    const double h = kStep / sub;
    auto slope = [](double t, double v) { return 1 - 2 * t * v; };
    for (std::size_t i = 0; i < f.size(); ++i) {
      f[i] = y;
      for (int s = 0; s < sub; ++s) {
        const double t = static_cast<double>(i) * kStep + s * h;
        const double k1 = slope(t, y);
        const double k2 = slope(t + h / 2, y + h / 2 * k1);
        const double k3 = slope(t + h / 2, y + h / 2 * k2);
        const double k4 = slope(t + h, y + h * k3);
        y += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
      }
    }
    return f;
  }();
  if (x >= kTableEnd) {
    const double r = 1 / (2 * x * x);
    return (1 + r * (1 + r * (3 + r * (15 + r * 105)))) / (2 * x);
  }
  const double at = x / kStep;
  const auto i = static_cast<std::size_t>(at);
  const double frac = at - static_cast<double>(i);
  // Cubic Hermite interpolation with the ODE's own derivative.
  const double f0 = table[i], f1 = table[i + 1];
  const double x0 = static_cast<double>(i) * kStep, x1 = x0 + kStep;
  const double d0 = (1 - 2 * x0 * f0) * kStep, d1 = (1 - 2 * x1 * f1) * kStep;
  const double t = frac, t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * d0 + (-2 * t3 + 3 * t2) * f1 +
         (t3 - t2) * d1;
}

}  // namespace model::internal
