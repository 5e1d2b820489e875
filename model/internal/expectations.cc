#include "model/internal/expectations.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace model::internal {
namespace {

// Below this many expected sharers per prefix a depth (and every deeper one) contributes nothing
// the model reports: at most lambda allocations per insert, lambda * k / 2 nodes.
constexpr double kNegligibleLambda = 1e-16;
// Collision nodes are tracked up to this many entries (a uniform 64-bit hash never gets close).
constexpr std::uint64_t kCollisionEntriesCap = 64;

double Pow2(unsigned bits) { return std::ldexp(1.0, static_cast<int>(bits)); }

// True when Bin(k, p) puts all but ~1e-30 of its mass above `k_max`.
bool AllAbove(std::uint64_t k, double p, unsigned k_max) {
  const double lambda = static_cast<double>(k) * p;
  return lambda - 12 * std::sqrt(lambda) - 2 > static_cast<double>(k_max);
}

}  // namespace

void Instant::Resize(std::size_t sizes) {
  live.assign(sizes, 0.0);
  live_var.assign(sizes, 0.0);
  alloc.assign(sizes, 0.0);
  freed.assign(sizes, 0.0);
  first_alloc.assign(sizes, 0.0);
  full.assign(sizes, 0.0);
}

TrieExpectations::TrieExpectations(const Layout& layout) : layout_(layout) {
  std::map<unsigned, std::shared_ptr<const UrnTable>> by_cells;
  for (unsigned d = 0; d < layout_.BitmapLevels(); ++d) {
    const unsigned m = layout_.Cells(d);
    auto& table = by_cells[m];
    if (!table) table = std::make_shared<const UrnTable>(m, layout_);
    tables_.push_back(table);
  }
}

std::size_t TrieExpectations::SizeCount(std::uint64_t k) const {
  std::size_t sizes = 0;
  for (const auto& table : tables_) sizes = std::max(sizes, table->size_count());
  // Collision nodes: up to the entry count whose expected number of nodes (Poisson estimate,
  // 2^hash_bits prefixes with lambda = k / 2^hash_bits keys each) falls below 1e-15.
  const double q = Pow2(layout_.hash_bits);
  const double lambda = static_cast<double>(k) / q;
  std::uint64_t entries = 2;
  double log_term = std::log(q) - lambda + 2 * std::log(std::max(lambda, 1e-300)) - std::log(2.0);
  while (entries < std::min(k, kCollisionEntriesCap) &&
         (log_term > std::log(1e-15) || static_cast<double>(entries) < lambda)) {
    ++entries;
    log_term += std::log(std::max(lambda, 1e-300)) - std::log(static_cast<double>(entries));
  }
  return std::max<std::size_t>(sizes, layout_.NodeSlots(0, entries) + 1);
}

void TrieExpectations::Evaluate(std::uint64_t k, bool by_size, Instant& out) const {
  out.nodes = out.live_bytes = out.live_slots = 0;
  out.allocations = out.alloc_bytes = out.alloc_slots = out.frees = 0;
  const std::size_t sizes = out.live.size();
  if (by_size) {
    std::fill(out.live.begin(), out.live.end(), 0.0);
    std::fill(out.live_var.begin(), out.live_var.end(), 0.0);
    std::fill(out.alloc.begin(), out.alloc.end(), 0.0);
    std::fill(out.freed.begin(), out.freed.end(), 0.0);
    std::fill(out.first_alloc.begin(), out.first_alloc.end(), 0.0);
    std::fill(out.full.begin(), out.full.end(), 0.0);
  }
  // Adds a table's per-size row (table.size_count() long) to a vector of `sizes`.
  auto add = [sizes](std::vector<double>& to, const UrnTable& table, const double* from,
                     double weight) {
    const std::size_t count = std::min(sizes, table.size_count());
    for (std::size_t s = 0; s < count; ++s) to[s] += weight * from[s];
  };
  auto add_at = [sizes](std::vector<double>& to, std::uint64_t s, double value) {
    if (s < sizes) to[s] += value;
  };

  // The root holds all k keys.
  {
    const UrnTable& t = *tables_[0];
    const unsigned m = t.cells();
    if (k > t.k_max()) {
      // Full: the new key descends, the root neither grows nor is freed.
      out.nodes += 1;
      out.live_bytes += static_cast<double>(layout_.NodeBytes(m, 0));
      out.live_slots += static_cast<double>(t.full_slots());
      if (by_size) {
        add_at(out.live, t.full_slots(), 1.0);
        add_at(out.full, t.full_slots(), 1.0);
      }
    } else {
      const unsigned kk = static_cast<unsigned>(k);
      out.allocations += t.AllocProbability(kk);
      out.alloc_bytes += t.AllocBytes(kk);
      out.alloc_slots += t.AllocSlots(kk);
      if (by_size) {
        add(out.alloc, t, t.Alloc(kk), 1.0);
        add(out.first_alloc, t, t.FirstAlloc(kk), 1.0);
      }
      if (k >= 1) {
        out.nodes += 1;
        out.live_bytes += t.LiveBytes(kk);
        out.live_slots += t.LiveSlots(kk);
        out.frees += t.AllocProbability(kk);
        if (by_size) {
          add_at(out.full, t.full_slots(), t.Pattern(kk, m, 0));
          const double* live = t.Live(kk);
          for (std::size_t s = 0; s < std::min(sizes, t.size_count()); ++s) {
            out.live[s] += live[s];
            out.live_var[s] += live[s] * (1 - live[s]);
          }
          add(out.freed, t, t.Freed(kk), 1.0);
        }
      }
    }
  }

  std::vector<double> pmf;
  std::vector<double> pi(by_size ? sizes : 0);
  const unsigned levels = layout_.BitmapLevels();
  for (unsigned d = 1; d < levels; ++d) {
    const double p = std::ldexp(1.0, -static_cast<int>(layout_.PrefixBits(d)));
    const double q = Pow2(layout_.PrefixBits(d));
    if (static_cast<double>(k) * p < kNegligibleLambda) return;  // so is every deeper level
    const UrnTable& t = *tables_[d];
    const unsigned m = t.cells();
    const double full_bytes = static_cast<double>(layout_.NodeBytes(m, 0));
    if (AllAbove(k, p, t.k_max())) {
      out.nodes += q;
      out.live_bytes += q * full_bytes;
      out.live_slots += q * static_cast<double>(t.full_slots());
      if (by_size) {
        add_at(out.live, t.full_slots(), q);
        add_at(out.full, t.full_slots(), q);
      }
      continue;
    }
    if (by_size) std::fill(pi.begin(), pi.end(), 0.0);
    double full = 0;  // P(a prefix holds a full node)
    const std::uint64_t lo = BinomialPmf(k, p, pmf, q);
    for (std::size_t i = 0; i < pmf.size(); ++i) {
      const std::uint64_t kk = lo + i;
      const double w = pmf[i];
      if (kk == 0) continue;
      if (kk > t.k_max()) {
        out.nodes += q * w;
        out.live_bytes += q * w * full_bytes;
        out.live_slots += q * w * static_cast<double>(t.full_slots());
        if (by_size) add_at(pi, t.full_slots(), w);
        full += w;
        continue;
      }
      const unsigned kx = static_cast<unsigned>(kk);
      out.allocations += w * t.AllocProbability(kx);
      out.alloc_bytes += w * t.AllocBytes(kx);
      out.alloc_slots += w * t.AllocSlots(kx);
      if (by_size) {
        add(out.alloc, t, t.Alloc(kx), w);
        add(out.first_alloc, t, t.FirstAlloc(kx), w);
      }
      if (kk >= 2) {
        out.nodes += q * w;
        out.live_bytes += q * w * t.LiveBytes(kx);
        out.live_slots += q * w * t.LiveSlots(kx);
        out.frees += w * t.AllocProbability(kx);
        if (by_size) {
          add(pi, t, t.Live(kx), w);
          add(out.freed, t, t.Freed(kx), w);
          full += w * t.Pattern(kx, m, 0);
        }
      }
    }
    if (by_size) {
      for (std::size_t s = 0; s < sizes; ++s) {
        out.live[s] += q * pi[s];
        out.live_var[s] += q * pi[s] * (1 - pi[s]);
      }
      add_at(out.full, t.full_slots(), q * full);
    }
  }

  // The collision level: keys that share every hash bit.
  const double p = std::ldexp(1.0, -static_cast<int>(layout_.hash_bits));
  const double q = Pow2(layout_.hash_bits);
  if (static_cast<double>(k) * p < kNegligibleLambda) return;
  if (by_size) std::fill(pi.begin(), pi.end(), 0.0);
  const std::uint64_t lo = BinomialPmf(k, p, pmf, q);
  for (std::size_t i = 0; i < pmf.size(); ++i) {
    const std::uint64_t kk = lo + i;
    const double w = pmf[i];
    if (kk == 0) continue;
    // The new key joins (or with kk = 1 makes) a collision node of kk + 1 entries.
    out.allocations += w;
    out.alloc_bytes += w * static_cast<double>(layout_.NodeBytes(0, kk + 1));
    out.alloc_slots += w * static_cast<double>(layout_.NodeSlots(0, kk + 1));
    if (by_size) {
      // A collision node only grows: every size it takes is a first visit.
      add_at(out.alloc, layout_.NodeSlots(0, kk + 1), w);
      add_at(out.first_alloc, layout_.NodeSlots(0, kk + 1), w);
    }
    if (kk >= 2) {
      out.nodes += q * w;
      out.live_bytes += q * w * static_cast<double>(layout_.NodeBytes(0, kk));
      out.live_slots += q * w * static_cast<double>(layout_.NodeSlots(0, kk));
      out.frees += w;
      if (by_size) {
        add_at(pi, layout_.NodeSlots(0, kk), w);
        add_at(out.freed, layout_.NodeSlots(0, kk), w);
      }
    }
  }
  if (by_size) {
    for (std::size_t s = 0; s < sizes; ++s) {
      out.live[s] += q * pi[s];
      out.live_var[s] += q * pi[s] * (1 - pi[s]);
    }
  }
}

ShapeDetail TrieExpectations::Shape(std::uint64_t k) const {
  ShapeDetail shape;
  const unsigned levels = layout_.BitmapLevels();
  shape.nodes_by_depth.assign(levels + 1, 0.0);
  for (const auto& table : tables_) shape.max_cells = std::max(shape.max_cells, table->cells());
  const unsigned side = shape.max_cells + 1;
  shape.histogram.assign(static_cast<std::size_t>(side) * side, 0.0);
  auto add_patterns = [&](const UrnTable& t, std::uint64_t kk, double weight) {
    const unsigned m = t.cells();
    if (kk > t.k_max()) {
      shape.histogram[static_cast<std::size_t>(m) * side] += weight;
      return;
    }
    for (unsigned c = 0; c <= m; ++c) {
      for (unsigned e = 0; c + e <= m; ++e) {
        shape.histogram[static_cast<std::size_t>(c) * side + e] +=
            weight * t.Pattern(static_cast<unsigned>(kk), c, e);
      }
    }
  };
  if (k == 0) return shape;
  shape.nodes_by_depth[0] = 1;
  add_patterns(*tables_[0], k, 1.0);
  std::vector<double> pmf;
  for (unsigned d = 1; d <= levels; ++d) {
    const unsigned bits = d < levels ? layout_.PrefixBits(d) : layout_.hash_bits;
    const double p = std::ldexp(1.0, -static_cast<int>(bits));
    const double q = Pow2(bits);
    if (static_cast<double>(k) * p < kNegligibleLambda) break;
    if (d < levels && AllAbove(k, p, tables_[d]->k_max())) {
      shape.nodes_by_depth[d] = q;
      add_patterns(*tables_[d], tables_[d]->k_max() + 1, q);
      continue;
    }
    const std::uint64_t lo = BinomialPmf(k, p, pmf, q);
    for (std::size_t i = 0; i < pmf.size(); ++i) {
      const std::uint64_t kk = lo + i;
      if (kk < 2) continue;
      const double nodes = q * pmf[i];
      shape.nodes_by_depth[d] += nodes;
      if (d < levels) {
        add_patterns(*tables_[d], kk, nodes);
      } else {
        if (shape.collision_nodes_by_entries.size() <= kk) {
          shape.collision_nodes_by_entries.resize(kk + 1, 0.0);
        }
        shape.collision_nodes_by_entries[kk] += nodes;
      }
    }
  }
  return shape;
}

}  // namespace model::internal
