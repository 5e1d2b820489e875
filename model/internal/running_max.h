// model/internal/running_max.h: the expected running maximum of a count that rises and falls: how
// many blocks of one size a recycler must carve.
//
// A per-size free list carves a fresh block only when every block of that size it ever carved is
// live, so the blocks of size s it carves over a build are max_t X_s(t), X_s = live blocks of size
// s, observed right after each allocation (an insert allocates before it frees, so a grown node
// and its predecessor both count). The model knows E[X_s(t)], its variance and the birth rate
// beta_s(t) (allocations of size s per insert), not the path; and E[max] can be far above max E:
// with 32 depth-1 nodes passing through each size at slightly different times, the peak count of a
// size is about twice its largest mean (N = 1,000).
//
// The estimate is the Poisson clumping heuristic (Aldous, "Probability Approximations via the
// Poisson Clumping Heuristic", 1989, ch. A and B) for a birth-and-death count:
//
//   P(max >= j) = 1 - (1 - max_t P(X(t) >= j)) * exp(-U_j),
//   U_j = sum over inserts of beta(t) * P(X(t) = j - 1) * theta_j(t),
//
// where beta * P(X = j-1) is the rate of upcrossings of level j (births do not depend on the count)
// and theta_j, the extremal index, discounts the upcrossings that follow a downcrossing of the same
// excursion: for a reversible birth-death chain with stationary law pi, the chance that a chain
// just below j returns to its mean before reaching j again, theta_j = 1 / sum_{x=x0}^{j-1}
// pi(j-1) / pi(x), x0 = floor(mean) (1 when j-1 <= x0). The first factor is the plain lower bound
// P(max >= j) >= P(X(t) >= j) at the best single t, which dominates while the count still rises at
// the end of the build. Then E[max] = sum_j P(max >= j).
//
// X(t) is taken as Poisson with its mean, or, when the variance is known to be smaller (each of the
// Q_d buckets of a depth holds exactly one node, so a depth's count is binomial-like), as the
// binomial with that mean and variance. Counts above ~500 use the normal approximation, levels
// sampled at 200 points and theta through Dawson's integral (the same sum, as an integral).
//
// Births are not all alike: a node's size goes up by an entry (+2 slots) and down by a push-down
// (-1), so a node often returns to a size it just left, re-crossing a level that its own departure
// crossed down; that starts no new clump unless the count relaxed in between. Counting only first
// visits (urn.h tabulates them) and counting every return bracket the real recycler's peaks
// (N = 1K..100K: -4.5..-0.9% and +0.9..+2.8%); returns count half.
//
// Accuracy: against a simulated M/M/infinity count, within 2% (internal_test.cc); against the real
// recycler (total carved slots, mean of 5 seeds): -1.4% at N = 1K, +0.6% at 3K and 10K, -0.5% at
// 30K, within 0.2% from 100K to 10M. max_t E[X] alone would be -38%, -25%, -11%, -8% and -4.5%
// at 1K, 3K, 10K, 33K and 100K: the excess of the maximum shrinks like 1/sqrt(count) per size.
// On tiny tries (N <= 5, counts of 0, 1, 2) it errs high by up to 15%.
//
// Cost: O(grid points * levels) per size, levels <= ~600.
#ifndef HAMT_ALLOC_MODEL_INTERNAL_RUNNING_MAX_H_
#define HAMT_ALLOC_MODEL_INTERNAL_RUNNING_MAX_H_

#include <cstddef>

namespace model::internal {

// One count, sampled on a quadrature grid over the build: point i stands for `weight[i]` inserts,
// `mean[i]`/`variance[i]` describe the live count before that insert and `births[i]` is the
// expected number of allocations of this size the insert makes. Arrays are read with `stride`
// (point i at [i * stride]).
struct CountPath {
  const double* weight = nullptr;
  const double* mean = nullptr;
  const double* variance = nullptr;  // nullptr: Poisson (variance = mean)
  const double* births = nullptr;
  // The part of `births` that are first visits of a node to this size (nullptr: all of them); the
  // rest, returns, count half towards new clumps.
  const double* first_births = nullptr;
  std::size_t stride = 1;
  std::size_t points = 0;
};

// E[max over the build of the count right after each allocation]. >= max_i (mean + births).
double ExpectedRunningMax(const CountPath& path);

// Dawson's integral F(x) = exp(-x^2) * integral_0^x exp(t^2) dt, |error| < 1e-8 (tabulated once).
double Dawson(double x);

}  // namespace model::internal

#endif  // HAMT_ALLOC_MODEL_INTERNAL_RUNNING_MAX_H_
