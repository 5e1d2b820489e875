// Tests of the model's building blocks against closed forms and a Monte Carlo.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/internal/expectations.h"
#include "model/internal/running_max.h"
#include "model/internal/timeline.h"
#include "model/internal/urn.h"
#include "model/layout.h"

namespace model::internal {
namespace {

using ::testing::DoubleNear;
using ::testing::Ge;

TEST(UrnTable, PatternsAreDistributionsWithTheOccupancyMoments) {
  const Layout layout;
  for (const unsigned m : {2u, 16u, 32u}) {
    const UrnTable table(m, layout);
    ASSERT_GE(table.k_max(), 2 * m);
    for (unsigned k = 0; k <= table.k_max(); k += (k < 100 ? 1 : 37)) {
      double total = 0, children = 0, entries = 0;
      for (unsigned c = 0; c <= m; ++c) {
        for (unsigned e = 0; c + e <= m; ++e) {
          const double p = table.Pattern(k, c, e);
          total += p;
          children += c * p;
          entries += e * p;
        }
      }
      // K balls in m urns: E[singletons] = K (1 - 1/m)^(K-1), E[empty] = m (1 - 1/m)^K.
      const double q = 1 - 1.0 / m;
      const double singles = k * std::pow(q, k - 1.0);
      const double empty = m * std::pow(q, k);
      SCOPED_TRACE(::testing::Message() << "m=" << m << " K=" << k);
      EXPECT_NEAR(total, 1, 1e-12);
      EXPECT_NEAR(entries, k == 0 ? 0 : singles, 1e-9);
      EXPECT_NEAR(children, m - empty - (k == 0 ? 0 : singles), 1e-9);
      // The new key lands in an urn with < 2 balls with probability 1 - E[c] / m.
      EXPECT_NEAR(table.AllocProbability(k), 1 - children / m, 1e-12);
    }
    // Beyond k_max the node is full.
    EXPECT_NEAR(table.Pattern(table.k_max(), m, 0), 1, 1e-17);
  }
}

TEST(UrnTable, FirstVisitsNeverExceedVisits) {
  const Layout layout;
  const UrnTable table(32, layout);
  for (unsigned k = 0; k <= table.k_max(); ++k) {
    double alloc = 0, first = 0;
    for (std::size_t s = 0; s < table.size_count(); ++s) {
      EXPECT_LE(table.FirstAlloc(k)[s], table.Alloc(k)[s] + 1e-15) << "K=" << k << " s=" << s;
      alloc += table.Alloc(k)[s];
      first += table.FirstAlloc(k)[s];
    }
    EXPECT_NEAR(alloc, table.AllocProbability(k), 1e-12);
    if (k <= 1) {
      EXPECT_NEAR(first, alloc, 1e-15);  // creating the node: every size is new
    }
  }
  // A node of 2 keys in 32 cells is (0, 2) or (1, 0); its third key makes (0, 3) or (1, 1) from
  // (0, 2) -- new sizes -- or, from (1, 0), (1, 1): also new. So K = 2 allocations are all first.
  double alloc2 = 0, first2 = 0;
  for (std::size_t s = 0; s < table.size_count(); ++s) {
    alloc2 += table.Alloc(2)[s];
    first2 += table.FirstAlloc(2)[s];
  }
  EXPECT_NEAR(first2, alloc2, 1e-15);
  // Much later a node keeps coming back to sizes it had: first visits are a minority.
  double alloc60 = 0, first60 = 0;
  for (std::size_t s = 0; s < table.size_count(); ++s) {
    alloc60 += table.Alloc(60)[s];
    first60 += table.FirstAlloc(60)[s];
  }
  EXPECT_LT(first60, 0.6 * alloc60);
}

TEST(BinomialPmf, SumsToOneWithTheRightMoments) {
  std::vector<double> pmf;
  struct Case {
    std::uint64_t n;
    double p;
  };
  for (const Case c :
       {Case{10, 0.3}, Case{1000, 1.0 / 32}, Case{1'000'000'000, std::ldexp(1.0, -25)},
        Case{1'000'000'000, std::ldexp(1.0, -64)}, Case{5, 0.999}}) {
    const std::uint64_t lo = BinomialPmf(c.n, c.p, pmf);
    double total = 0, mean = 0, second = 0;
    for (std::size_t i = 0; i < pmf.size(); ++i) {
      const double k = static_cast<double>(lo + i);
      total += pmf[i];
      mean += k * pmf[i];
      second += k * k * pmf[i];
    }
    const double n = static_cast<double>(c.n);
    SCOPED_TRACE(::testing::Message() << "n=" << c.n << " p=" << c.p);
    EXPECT_NEAR(total, 1, 1e-12);
    EXPECT_NEAR(mean, n * c.p, 1e-9 * std::max(1.0, n * c.p));
    EXPECT_NEAR(second - mean * mean, n * c.p * (1 - c.p), 1e-7 * std::max(1.0, n * c.p));
  }
  // A scale keeps the terms it would multiply into something visible: Bin(2, 2^-35) at K = 2 is
  // 2^-70 (dropped alone) but 2^35 nodes of that depth make 2^-35 of them.
  BinomialPmf(2, std::ldexp(1.0, -35), pmf);
  EXPECT_EQ(pmf.size(), 2u);
  BinomialPmf(2, std::ldexp(1.0, -35), pmf, std::ldexp(1.0, 35));
  ASSERT_EQ(pmf.size(), 3u);
  EXPECT_NEAR(pmf[2] / std::ldexp(1.0, -70), 1, 1e-12);
}

TEST(Dawson, KnownValues) {
  EXPECT_NEAR(Dawson(0), 0, 1e-12);
  EXPECT_NEAR(Dawson(0.5), 0.4244363835020223, 1e-8);
  EXPECT_NEAR(Dawson(1), 0.5380795069127684, 1e-8);
  EXPECT_NEAR(Dawson(0.9241388730), 0.5410442246, 1e-8);  // the maximum
  EXPECT_NEAR(Dawson(3), 0.1782710306105583, 1e-8);
  EXPECT_NEAR(Dawson(10), 0.05025384718759853, 1e-9);
  EXPECT_NEAR(Dawson(-1), -0.5380795069127684, 1e-8);
}

// E[max] of an M/M/infinity count (births at rate `beta`, each block lives Exp(`delta`)) over
// `inserts` unit steps, starting empty, by simulation.
double SimulatedRunningMax(double beta, double delta, int inserts, int runs) {
  std::mt19937_64 rng(12345);
  std::poisson_distribution<int> births(beta);
  double total = 0;
  for (int r = 0; r < runs; ++r) {
    int count = 0, top = 0;
    for (int t = 0; t < inserts; ++t) {
      // Deaths among the live, then this step's births (the peak counts right after them).
      std::binomial_distribution<int> deaths(count, 1 - std::exp(-delta));
      count -= deaths(rng);
      count += births(rng);
      top = std::max(top, count);
    }
    total += top;
  }
  return total / runs;
}

// The same count as the model sees it: mean m(t) = (beta/delta)(1 - e^{-delta t}), Poisson.
double ModelRunningMax(double beta, double delta, int inserts) {
  std::vector<double> weight(inserts, 1.0), mean(inserts), births(inserts, beta);
  for (int t = 0; t < inserts; ++t) {
    // Before step t's births: the births of steps < t that survived.
    mean[t] = beta * std::exp(-delta) * (1 - std::exp(-delta * t)) / (1 - std::exp(-delta));
  }
  CountPath path;
  path.weight = weight.data();
  path.mean = mean.data();
  path.births = births.data();
  path.points = static_cast<std::size_t>(inserts);
  return ExpectedRunningMax(path);
}

TEST(ExpectedRunningMax, MatchesABirthDeathCountWithinTenPercent) {
  struct Case {
    double beta, delta;
    int inserts;
  };
  for (const Case c : {Case{0.05, 0.02, 2000}, Case{0.5, 0.05, 2000}, Case{2.0, 0.01, 3000}}) {
    const double simulated = SimulatedRunningMax(c.beta, c.delta, c.inserts, 2000);
    const double modeled = ModelRunningMax(c.beta, c.delta, c.inserts);
    SCOPED_TRACE(::testing::Message() << "beta=" << c.beta << " delta=" << c.delta);
    EXPECT_THAT(modeled, DoubleNear(simulated, 0.1 * simulated));
    // And well above the largest mean, which is what a peak of means would say.
    const double top_mean = c.beta / (1 - std::exp(-c.delta));
    EXPECT_THAT(modeled, Ge(top_mean));
  }
}

TEST(ExpectedRunningMax, GrowsWithTheWindowAndAtLeastTheLargestMean) {
  double previous = 0;
  for (const int inserts : {100, 1000, 10000}) {
    const double value = ModelRunningMax(1.0, 0.1, inserts);
    EXPECT_GT(value, previous);
    previous = value;
  }
  // Large counts (the normal branch): a constant mean of 1e6 over a long build.
  const int points = 200;
  std::vector<double> weight(points, 1000.0), mean(points, 1e6), births(points, 1.0);
  CountPath path{weight.data(),
                 mean.data(),
                 nullptr,
                 births.data(),
                 nullptr,
                 1,
                 static_cast<std::size_t>(points)};
  const double big = ExpectedRunningMax(path);
  EXPECT_GT(big, 1e6 + 1);
  EXPECT_LT(big, 1e6 + 8 * 1000);  // a few standard deviations at most
}

TEST(Timeline, SumsAreExactBelowTheExactRangeAndSmoothBeyond) {
  const Layout layout;
  const TrieExpectations trie(layout);
  // Below kExactInserts every insert is a point: the weights are all 1.
  const Timeline small(trie, 500, false, 24);
  EXPECT_EQ(small.points(), 500u);
  for (double w : small.Weights(small.points() - 1)) EXPECT_EQ(w, 1.0);
  // Beyond, the weights still add up to the number of inserts, and integrate a line exactly.
  const Timeline big(trie, 3'000'000, false, 24);
  const std::vector<double> w = big.Weights(big.points() - 1);
  double count = 0, linear = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    count += w[i];
    linear += w[i] * static_cast<double>(big.k(i));
  }
  EXPECT_NEAR(count, 3'000'000, 1e-6);
  EXPECT_NEAR(linear, 3'000'000.0 * 2'999'999 / 2, 1e-6 * 3e6 * 3e6);
  // The cumulative sums agree with the weights at every point.
  std::vector<double> ones(big.points(), 1.0);
  const std::vector<double> cum = big.CumulativeOf(ones);
  for (std::size_t i = 0; i < big.points(); i += 50) {
    EXPECT_NEAR(cum[i], static_cast<double>(big.k(i)) + 1, 1e-6 * (big.k(i) + 1.0));
  }
}

TEST(TrieExpectations, OneFreePerInsertAndNodesAsBinomialTails) {
  const Layout layout;
  const TrieExpectations trie(layout);
  Instant at;
  for (const std::uint64_t k : {1ull, 7ull, 100ull, 5000ull, 1'000'000ull, 1'000'000'000ull}) {
    trie.Evaluate(k, false, at);
    SCOPED_TRACE(::testing::Message() << "k=" << k);
    EXPECT_NEAR(at.frees, 1, 1e-9);  // exactly one node is replaced by each insert
    double nodes = 1;                // the root, then 2^(5d) P(Bin(k, 2^-5d) >= 2)
    for (unsigned d = 1; d <= 13; ++d) {
      const double p = std::ldexp(1.0, -static_cast<int>(std::min(5 * d, 64u)));
      const double kk = static_cast<double>(k);
      const double none = std::exp(kk * std::log1p(-p));
      const double one = kk * p * std::exp((kk - 1) * std::log1p(-p));
      const double two_or_more = kk * p < 1e-4 ? kk * (kk - 1) / 2 * p * p : 1 - none - one;
      nodes += two_or_more / p;
    }
    EXPECT_NEAR(at.nodes, nodes, 1e-7 * nodes);
    // Every node but the root is a child: live bytes = 8 nodes + 8 (nodes - 1) + 16 k.
    EXPECT_NEAR(at.live_bytes, 16 * at.nodes - 8 + 16.0 * static_cast<double>(k),
                1e-9 * at.live_bytes);
  }
}

}  // namespace
}  // namespace model::internal
