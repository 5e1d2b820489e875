#include "model/internal/identity.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace model::internal {
namespace {

using u128 = unsigned __int128;

std::uint64_t SaturatingProduct(std::uint64_t a, std::uint64_t b) {
  const u128 p = static_cast<u128>(a) * b;
  return p > ~std::uint64_t{0} ? ~std::uint64_t{0} : static_cast<std::uint64_t>(p);
}

}  // namespace

IdentityTrie::IdentityTrie(const Layout& layout) : layout_(layout) {
  max_keys_ =
      layout.hash_bits >= 63 ? (std::uint64_t{1} << 63) : (std::uint64_t{1} << layout.hash_bits);
  size_count_ = 0;
  for (unsigned d = 0; d < layout.BitmapLevels(); ++d) {
    const unsigned m = layout.Cells(d);
    for (unsigned c = 0; c <= m; ++c) {
      for (unsigned e = 0; c + e <= m; ++e) {
        size_count_ = std::max<std::size_t>(size_count_, layout.NodeSlots(c, e) + 1);
      }
    }
  }
  size_count_ = std::max<std::size_t>(size_count_, layout.NodeSlots(0, 2) + 1);
}

void IdentityTrie::RoundRobin(std::uint64_t keys, unsigned cells, unsigned* children,
                              unsigned* entries) {
  const std::uint64_t rounds = keys / cells;
  const auto rest = static_cast<unsigned>(keys % cells);
  if (rounds == 0) {
    *children = 0;
    *entries = rest;
  } else if (rounds == 1) {
    *children = rest;
    *entries = cells - rest;
  } else {
    *children = cells;
    *entries = 0;
  }
}

IdentityTrie::InsertStep IdentityTrie::Insert(std::uint64_t k) const {
  if (k >= max_keys_) throw std::out_of_range("IdentityTrie: key beyond the hash's range");
  InsertStep step;
  auto allocate = [&](std::uint64_t children, std::uint64_t entries) {
    step.alloc_slots[step.allocations] = layout_.NodeSlots(children, entries);
    step.alloc_bytes[step.allocations] = layout_.NodeBytes(children, entries);
    ++step.allocations;
  };
  if (k == 0) {
    allocate(0, 1);
    return step;
  }
  unsigned t = 0;
  for (unsigned d = 1; d < layout_.BitmapLevels(); ++d) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(d);
    if (k / q < 2) break;
    t = d;
  }
  const std::uint64_t keys = t == 0 ? k : k / (std::uint64_t{1} << layout_.PrefixBits(t));
  const unsigned m = layout_.Cells(t);
  unsigned c = 0, e = 0;
  RoundRobin(keys, m, &c, &e);
  step.frees = true;
  step.freed_slots = layout_.NodeSlots(c, e);
  if (keys < m) {
    allocate(0, keys + 1);  // the new key's cell (keys mod m = keys) is empty
  } else {
    allocate(c + 1, e - 1);  // its cell holds one key: push it down with the new one
    allocate(0, 2);
  }
  return step;
}

void IdentityTrie::ForEachInsertClass(
    std::uint64_t n, const std::function<void(const InsertStep&, double)>& add) const {
  n = std::min(n, max_keys_);
  // The root alone: keys 0 .. 2m-1.
  const std::uint64_t root_keys = std::min<std::uint64_t>(n, 2 * layout_.Cells(0));
  for (std::uint64_t k = 0; k < root_keys; ++k) add(Insert(k), 1);
  // Depth t >= 1 changes during k in [2 Q_t, 2 Q_{t+1}), in rounds [K Q_t, (K+1) Q_t).
  for (unsigned t = 1; t < layout_.BitmapLevels(); ++t) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(t);
    if (SaturatingProduct(2, q) >= n) break;
    for (std::uint64_t keys = 2; keys < 2 * layout_.Cells(t); ++keys) {
      const std::uint64_t begin = SaturatingProduct(keys, q);
      if (begin >= n) break;
      const std::uint64_t end = std::min(n, SaturatingProduct(keys + 1, q));
      add(Insert(begin), static_cast<double>(end - begin));
    }
  }
}

IdentityTrie::Totals IdentityTrie::Build(std::uint64_t n) const {
  Totals totals;
  ForEachInsertClass(n, [&totals](const InsertStep& step, double times) {
    totals.allocations += times * step.allocations;
    for (unsigned i = 0; i < step.allocations; ++i) {
      totals.bytes += times * static_cast<double>(step.alloc_bytes[i]);
      totals.slots += times * static_cast<double>(step.alloc_slots[i]);
    }
    if (step.frees) totals.frees += times;
  });
  return totals;
}

std::vector<double> IdentityTrie::AllocationsBySlots(std::uint64_t n, std::size_t sizes) const {
  std::vector<double> out(sizes, 0.0);
  ForEachInsertClass(n, [&out](const InsertStep& step, double times) {
    for (unsigned i = 0; i < step.allocations; ++i) {
      if (step.alloc_slots[i] < out.size()) out[step.alloc_slots[i]] += times;
    }
  });
  return out;
}

void IdentityTrie::LiveBySlots(std::uint64_t k, std::vector<double>& out) const {
  std::fill(out.begin(), out.end(), 0.0);
  auto add = [&](std::uint64_t keys, unsigned cells, double count) {
    unsigned c = 0, e = 0;
    RoundRobin(keys, cells, &c, &e);
    const std::uint64_t s = layout_.NodeSlots(c, e);
    if (s < out.size()) out[s] += count;
  };
  if (k == 0) return;
  add(k, layout_.Cells(0), 1);
  for (unsigned d = 1; d < layout_.BitmapLevels(); ++d) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(d);
    const std::uint64_t a = k / q, b = k % q;
    if (a == 0) break;  // at most one key per prefix here and below
    if (a + 1 >= 2 && b > 0) add(a + 1, layout_.Cells(d), static_cast<double>(b));
    if (a >= 2) add(a, layout_.Cells(d), static_cast<double>(q - b));
  }
}

double IdentityTrie::Nodes(std::uint64_t k) const {
  if (k == 0) return 0;
  double nodes = 1;
  for (unsigned d = 1; d < layout_.BitmapLevels(); ++d) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(d);
    const std::uint64_t a = k / q, b = k % q;
    if (a == 0) break;
    nodes += static_cast<double>(b);  // prefixes with a + 1 >= 2 keys
    if (a >= 2) nodes += static_cast<double>(q - b);
  }
  return nodes;
}

ShapeDetail IdentityTrie::Shape(std::uint64_t n) const {
  ShapeDetail shape;
  const unsigned levels = layout_.BitmapLevels();
  shape.nodes_by_depth.assign(levels + 1, 0.0);
  for (unsigned d = 0; d < levels; ++d)
    shape.max_cells = std::max(shape.max_cells, layout_.Cells(d));
  const unsigned side = shape.max_cells + 1;
  shape.histogram.assign(static_cast<std::size_t>(side) * side, 0.0);
  auto add = [&](unsigned d, std::uint64_t keys, double count) {
    unsigned c = 0, e = 0;
    RoundRobin(keys, layout_.Cells(d), &c, &e);
    shape.histogram[static_cast<std::size_t>(c) * side + e] += count;
    shape.nodes_by_depth[d] += count;
  };
  if (n == 0) return shape;
  add(0, n, 1);
  for (unsigned d = 1; d < levels; ++d) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(d);
    const std::uint64_t a = n / q, b = n % q;
    if (a == 0) break;
    if (b > 0) add(d, a + 1, static_cast<double>(b));
    if (a >= 2) add(d, a, static_cast<double>(q - b));
  }
  return shape;
}

std::vector<double> IdentityTrie::RecyclerBlocks(std::uint64_t n, std::size_t sizes) const {
  std::vector<double> peak(sizes, 0.0), live(sizes, 0.0);
  n = std::min(n, max_keys_);
  if (n == 0) return peak;
  // Within a round the live counts move linearly and the insert's allocations do not change, so
  // the maximum of live + allocated falls on a round's first or last insert (or on n - 1).
  std::vector<std::uint64_t> candidates;
  const std::uint64_t root_keys = std::min<std::uint64_t>(n, 2 * layout_.Cells(0) + 1);
  for (std::uint64_t k = 0; k < root_keys; ++k) candidates.push_back(k);
  for (unsigned t = 1; t < layout_.BitmapLevels(); ++t) {
    const std::uint64_t q = std::uint64_t{1} << layout_.PrefixBits(t);
    if (SaturatingProduct(2, q) >= n) break;
    for (std::uint64_t keys = 2; keys <= 2 * layout_.Cells(t); ++keys) {
      const std::uint64_t begin = SaturatingProduct(keys, q);
      if (begin >= n) break;
      candidates.push_back(begin);
      const std::uint64_t end = SaturatingProduct(keys + 1, q) - 1;
      if (end < n) candidates.push_back(end);
    }
  }
  candidates.push_back(n - 1);
  for (std::uint64_t k : candidates) {
    LiveBySlots(k, live);
    const InsertStep step = Insert(k);
    for (unsigned i = 0; i < step.allocations; ++i) {
      if (step.alloc_slots[i] < sizes) live[step.alloc_slots[i]] += 1;
    }
    for (std::size_t s = 0; s < sizes; ++s) peak[s] = std::max(peak[s], live[s]);
  }
  return peak;
}

}  // namespace model::internal
