// experiments/common/statistics.h: the summary statistics every experiment reports, defined once.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_

#include <algorithm>
#include <cmath>
#include <limits>
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

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_STATISTICS_H_
