#include "model/internal/urn.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace model::internal {
namespace {

// A node is treated as full once the probability that some urn still holds fewer than two balls is
// below this: far under anything the model reports.
constexpr double kNotFullTolerance = 1e-18;
// The window of a binomial keeps terms down to this fraction of the mode's.
constexpr double kBinomialTail = 1e-20;

}  // namespace

UrnTable::UrnTable(unsigned cells, const Layout& layout)
    : cells_(cells), states_(static_cast<std::size_t>(cells + 1) * (cells + 2) / 2) {
  if (cells == 0 || (cells & (cells - 1)) != 0 || cells > 32) {
    throw std::invalid_argument("UrnTable: cells must be a power of two up to 32");
  }
  const unsigned m = cells;
  size_count_ = 0;
  for (unsigned c = 0; c <= m; ++c) {
    for (unsigned e = 0; c + e <= m; ++e) {
      size_count_ = std::max<std::size_t>(size_count_, layout.NodeSlots(c, e) + 1);
    }
  }
  full_slots_ = layout.NodeSlots(m, 0);

  // Run the chain until the node is full (it cannot be before 2m balls).
  const unsigned k_cap = 400 * m;
  std::vector<double> current(states_, 0.0), next(states_, 0.0);
  current[StateIndex(0, 0)] = 1.0;
  for (unsigned k = 0;; ++k) {
    patterns_.insert(patterns_.end(), current.begin(), current.end());
    double not_full = 0;
    for (unsigned c = 0; c < m; ++c) {
      for (unsigned e = 0; c + e <= m; ++e) not_full += current[StateIndex(c, e)];
    }
    if ((k >= 2 * m && not_full < kNotFullTolerance) || k == k_cap) {
      k_max_ = k;
      break;
    }
    std::fill(next.begin(), next.end(), 0.0);
    for (unsigned c = 0; c <= m; ++c) {
      for (unsigned e = 0; c + e <= m; ++e) {
        const double p = current[StateIndex(c, e)];
        if (p == 0) continue;
        const double empty = static_cast<double>(m - c - e) / m;
        const double single = static_cast<double>(e) / m;
        const double fuller = static_cast<double>(c) / m;
        if (empty > 0) next[StateIndex(c, e + 1)] += p * empty;
        if (single > 0) next[StateIndex(c + 1, e - 1)] += p * single;
        if (fuller > 0) next[StateIndex(c, e)] += p * fuller;
      }
    }
    current.swap(next);
  }

  const std::size_t rows = k_max_ + 1;
  live_.assign(rows * size_count_, 0.0);
  alloc_.assign(rows * size_count_, 0.0);
  freed_.assign(rows * size_count_, 0.0);
  live_bytes_.assign(rows, 0.0);
  live_slots_.assign(rows, 0.0);
  alloc_probability_.assign(rows, 0.0);
  alloc_bytes_.assign(rows, 0.0);
  alloc_slots_.assign(rows, 0.0);
  for (unsigned k = 0; k <= k_max_; ++k) {
    double* live = &live_[k * size_count_];
    double* alloc = &alloc_[k * size_count_];
    double* freed = &freed_[k * size_count_];
    for (unsigned c = 0; c <= m; ++c) {
      for (unsigned e = 0; c + e <= m; ++e) {
        const double p = Pattern(k, c, e);
        if (p == 0) continue;
        const double empty = p * (m - c - e) / m;
        const double single = p * e / m;
        live[layout.NodeSlots(c, e)] += p;
        live_bytes_[k] += p * static_cast<double>(layout.NodeBytes(c, e));
        live_slots_[k] += p * static_cast<double>(layout.NodeSlots(c, e));
        // The old block is freed whenever the new key lands in an empty cell or a singleton.
        freed[layout.NodeSlots(c, e)] += empty + single;
        if (empty > 0) {
          alloc[layout.NodeSlots(c, e + 1)] += empty;
          alloc_bytes_[k] += empty * static_cast<double>(layout.NodeBytes(c, e + 1));
          alloc_slots_[k] += empty * static_cast<double>(layout.NodeSlots(c, e + 1));
        }
        if (single > 0) {
          alloc[layout.NodeSlots(c + 1, e - 1)] += single;
          alloc_bytes_[k] += single * static_cast<double>(layout.NodeBytes(c + 1, e - 1));
          alloc_slots_[k] += single * static_cast<double>(layout.NodeSlots(c + 1, e - 1));
        }
        alloc_probability_[k] += empty + single;
      }
    }
  }
  ComputeFirstVisits(layout);
}

void UrnTable::ComputeFirstVisits(const Layout& layout) {
  const unsigned m = cells_;
  const std::size_t rows = k_max_ + 1;
  first_alloc_.assign(rows * size_count_, 0.0);
  // Allocations at K = 0 and 1 create the node (the root at K = 0, any other node at K = 1): every
  // size they allocate is a first visit.
  for (unsigned k = 0; k <= std::min(1u, k_max_); ++k) {
    std::copy(Alloc(k), Alloc(k) + size_count_, &first_alloc_[k * size_count_]);
  }
  // Per state: its size, and the range of sizes it can still reach (states (c', e') with
  // c' >= c, c' + e' >= c + e: entries come into empty cells, push-downs turn them into children).
  std::vector<std::size_t> slots(states_), reach_lo(states_), reach_hi(states_);
  for (unsigned c = 0; c <= m; ++c) {
    for (unsigned e = 0; c + e <= m; ++e) {
      const std::size_t i = StateIndex(c, e);
      slots[i] = layout.NodeSlots(c, e);
      reach_lo[i] = std::min(layout.NodeSlots(c, e), layout.NodeSlots(c + e, 0));
      reach_hi[i] = std::max(layout.NodeSlots(c, m - c), layout.NodeSlots(m, 0));
    }
  }
  std::vector<double> current(states_), next(states_);
  for (std::size_t target = 0; target < size_count_; ++target) {
    // Mass of the paths that have not had size `target` since K = 2, absorbed on reaching it.
    std::copy(&patterns_[2 * states_], &patterns_[3 * states_], current.begin());
    for (std::size_t i = 0; i < states_; ++i) {
      if (slots[i] == target) current[i] = 0;
    }
    for (unsigned k = 2; k < k_max_; ++k) {
      std::fill(next.begin(), next.end(), 0.0);
      double alive = 0;
      for (unsigned c = 0; c <= m; ++c) {
        for (unsigned e = 0; c + e <= m; ++e) {
          const double p = current[StateIndex(c, e)];
          if (p < 1e-30) continue;
          alive += p;
          auto move = [&](unsigned c2, unsigned e2, double q) {
            const std::size_t to = StateIndex(c2, e2);
            if (slots[to] == target) {
              first_alloc_[k * size_count_ + target] += q;  // absorbed: a first visit
            } else if (reach_lo[to] <= target && target <= reach_hi[to]) {
              next[to] += q;
            }  // else: this path can never have the target size again; drop it
          };
          if (c + e < m) move(c, e + 1, p * (m - c - e) / m);
          if (e > 0) move(c + 1, e - 1, p * e / m);
          if (c > 0) next[StateIndex(c, e)] += p * c / m;
        }
      }
      if (alive < 1e-30) break;
      current.swap(next);
    }
  }
}

std::uint64_t BinomialPmf(std::uint64_t n, double p, std::vector<double>& pmf, double scale) {
  const double tail = kBinomialTail / std::max(scale, 1.0);
  pmf.clear();
  if (n == 0 || p <= 0) {
    pmf.push_back(1.0);
    return 0;
  }
  const double odds = p / (1 - p);
  std::uint64_t mode = static_cast<std::uint64_t>(std::floor((static_cast<double>(n) + 1) * p));
  if (mode > n) mode = n;
  // Walk down from the mode, then up; u holds unnormalized probabilities (u(mode) = 1).
  std::vector<double> down;
  double u = 1.0;
  for (std::uint64_t k = mode; k > 0;) {
    u *= static_cast<double>(k) / (static_cast<double>(n - k) + 1) / odds;
    --k;
    if (u < tail) break;
    down.push_back(u);
  }
  const std::uint64_t lo = mode - down.size();
  pmf.assign(down.rbegin(), down.rend());
  pmf.push_back(1.0);
  u = 1.0;
  for (std::uint64_t k = mode; k < n; ++k) {
    u *= (static_cast<double>(n - k) / (static_cast<double>(k) + 1)) * odds;
    if (u < tail) break;
    pmf.push_back(u);
  }
  double sum = 0;
  for (double v : pmf) sum += v;
  for (double& v : pmf) v /= sum;
  return lo;
}

}  // namespace model::internal
