// model/internal/timeline.h: the build of N inserts as a quadrature grid over the insert index.
//
// A build's totals are sums over k = 0..N-1 of per-insert expectations g(k) (expectations.h). For
// k < kExactInserts every k is a grid point of weight 1: the sum is exact. Beyond, g is smooth in k
// (it varies on the scale of k itself), so the grid is log-spaced (`per_e` points per factor e,
// rounded to integers, the same for every N, plus N - 1 and any `marks`), and the sum is the
// Euler-Maclaurin form
//   sum_{k=a}^{b} g(k) = integral_a^b g + (g(a) + g(b)) / 2 + O(g'(b) - g'(a)),
// the integral by piecewise quadratics (each interval: the mean of the two parabolas through it
// and a neighbour). The error estimate compares that with the same rule on every other point.
//
// Cost: O(points * Evaluate), points = kExactInserts + per_e * ln(N / kExactInserts).
#ifndef HAMT_ALLOC_MODEL_INTERNAL_TIMELINE_H_
#define HAMT_ALLOC_MODEL_INTERNAL_TIMELINE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/internal/expectations.h"

namespace model::internal {

inline constexpr std::uint64_t kExactInserts = 1024;

class Timeline {
 public:
  // Samples the inserts k = 0..n-1 (n >= 1). `by_size` also keeps the per-size vectors, `marks`
  // are extra insert indices (< n) that become grid points.
  Timeline(const TrieExpectations& trie, std::uint64_t n, bool by_size, double per_e,
           const std::vector<std::uint64_t>& marks = {});

  std::uint64_t n() const { return n_; }
  std::size_t points() const { return ks_.size(); }
  std::uint64_t k(std::size_t i) const { return ks_[i]; }
  const std::vector<std::uint64_t>& ks() const { return ks_; }
  const Instant& at(std::size_t i) const { return instants_[i]; }
  std::size_t sizes() const { return sizes_; }
  // Index of the grid point at insert index k (which must be one), else points().
  std::size_t IndexOf(std::uint64_t k) const;

  // Weights w_i with sum_i w_i g(k_i) ~ sum_{k=0}^{k_last} g(k), for the points 0..last.
  std::vector<double> Weights(std::size_t last) const;
  // The same by the trapezoid rule: less accurate, but every weight is positive and adding points
  // beyond `last` changes none of them; for sums that must stay monotone (running maxima).
  std::vector<double> TrapezoidWeights(std::size_t last) const;

  // Prefix sums of a scalar field over the inserts: out[i] ~ sum_{k=0}^{k_i} g(k).
  template <class Field>
  std::vector<double> Cumulative(Field field) const {
    std::vector<double> values(points());
    for (std::size_t i = 0; i < points(); ++i) values[i] = field(instants_[i]);
    return CumulativeOf(values);
  }
  std::vector<double> CumulativeOf(const std::vector<double>& values) const;

  // Relative difference between the rule and the same rule on every other point of the
  // log-spaced part, for the scalar values given: an estimate of the quadrature error.
  double ErrorEstimate(const std::vector<double>& values) const;

  // Per-size arrays laid out for CountPath: [i * sizes() + s].
  const std::vector<double>& live() const { return live_; }
  const std::vector<double>& live_var() const { return live_var_; }
  const std::vector<double>& alloc() const { return alloc_; }
  const std::vector<double>& freed() const { return freed_; }
  const std::vector<double>& first_alloc() const { return first_alloc_; }
  const std::vector<double>& full() const { return full_; }

 private:
  std::uint64_t n_;
  std::size_t sizes_ = 0;
  std::size_t exact_points_ = 0;  // points with weight 1 (k < kExactInserts)
  std::vector<std::uint64_t> ks_;
  std::vector<Instant> instants_;  // scalars only (vectors moved into the flat arrays)
  std::vector<double> live_, live_var_, alloc_, freed_, first_alloc_, full_;
};

}  // namespace model::internal

#endif  // HAMT_ALLOC_MODEL_INTERNAL_TIMELINE_H_
