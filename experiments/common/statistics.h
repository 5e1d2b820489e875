// experiments/common/statistics.h: the summary statistics every experiment reports, defined once.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace experiments {

// The median; NaN for no values (callers record no median rather than a made-up 0).
inline double Median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

inline double Mean(const std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

// The sample standard deviation; 0 for fewer than two values.
inline double StandardDeviation(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const double mean = Mean(values);
  double sq = 0;
  for (double v : values) sq += (v - mean) * (v - mean);
  return std::sqrt(sq / static_cast<double>(values.size() - 1));
}

// Standard deviation over the mean; 0 for fewer than two values or a zero mean.
inline double CoefficientOfVariation(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const double mean = Mean(values);
  return mean == 0 ? 0 : StandardDeviation(values) / mean;
}

// A distribution-free confidence interval of the median: the order statistics x(k) and
// x(n + 1 - k) (1-based, sorted), with the largest k whose interval still covers the true median
// with probability >= `level`. That probability is 1 - 2 P(B <= k - 1) for B ~ Binomial(n, 1/2),
// whatever the distribution of the values (timings are skewed, so no normal approximation).
// Fewer than 6 values cannot reach 95% (even [min, max] covers with 1 - 2^(1-n)): no interval.
struct Interval {
  double low, high;
};
inline std::optional<Interval> MedianConfidenceInterval(std::vector<double> values,
                                                        double level = 0.95) {
  const std::size_t n = values.size();
  double below = 0;     // P(B <= k - 1), accumulated one binomial term at a time
  std::size_t best = 0;  // the largest rank k that still reaches `level` (0: none)
  for (std::size_t k = 1; 2 * k <= n + 1; ++k) {
    const double j = static_cast<double>(k - 1);
    below += std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) -
                      static_cast<double>(n) * std::log(2.0));
    if (1 - 2 * below < level) break;
    best = k;
  }
  if (best == 0) return std::nullopt;
  std::sort(values.begin(), values.end());
  return Interval{values[best - 1], values[n - best]};
}

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_
