// The summary statistics against values worked out by hand (and, for the interval's ranks, against
// scipy.stats.binom: the largest k with 1 - 2 * binom.cdf(k - 1, n, 0.5) >= 0.95).
#include "experiments/common/statistics.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace experiments {
namespace {

std::vector<double> OneTo(int n) {
  std::vector<double> v;
  for (int i = n; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  return v;
}

TEST(Statistics, MedianMeanAndSpread) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(Median({})));
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({2, 4}), std::sqrt(2.0) / 3);
  EXPECT_EQ(CoefficientOfVariation({5}), 0);
}

TEST(Statistics, MedianIntervalUsesTheBinomialRanks) {
  struct Case {
    int n, low_rank;  // the interval is [x(low_rank), x(n + 1 - low_rank)]
  };
  for (const Case c : {Case{6, 1}, Case{7, 1}, Case{9, 2}, Case{10, 2}, Case{20, 6}, Case{31, 10},
                       Case{100, 40}}) {
    const std::optional<Interval> ci = MedianConfidenceInterval(OneTo(c.n));
    ASSERT_TRUE(ci.has_value()) << "n=" << c.n;
    EXPECT_EQ(ci->low, c.low_rank) << "n=" << c.n;
    EXPECT_EQ(ci->high, c.n + 1 - c.low_rank) << "n=" << c.n;
  }
}

TEST(Statistics, NoMedianIntervalBelowSixValues) {
  // [min, max] of 5 values covers the median with probability 1 - 2/32 = 0.9375 < 0.95.
  EXPECT_FALSE(MedianConfidenceInterval(OneTo(5)).has_value());
  EXPECT_FALSE(MedianConfidenceInterval({}).has_value());
  // At a lower level, 5 values are enough.
  EXPECT_TRUE(MedianConfidenceInterval(OneTo(5), 0.9).has_value());
}

}  // namespace
}  // namespace experiments
