// model/internal/urn.h: the occupancy pattern of one trie node, and the binomial spread of keys
// over the nodes of one depth.
//
// A node at depth d owns the keys that share its prefix; its m cells are the next hash fragment. A
// cell with one key is an entry, a cell with two or more is a child, an empty cell is nothing. With
// uniform hashes, K keys in a node are K balls thrown into m equally likely urns, and the node's
// shape is the pair (c, e) = (urns with >= 2 balls, urns with exactly 1). UrnTable holds the exact
// distribution R_m(K; c, e) for K = 0..k_max, computed by the Markov chain that adds one ball at a
// time (Kolchin, Sevast'yanov & Chistyakov, "Random Allocations", 1978, ch. 1):
//
//   from (c, e): into an empty urn, probability (m - c - e) / m  ->  (c, e + 1)
//                into a singleton,  probability e / m             ->  (c + 1, e - 1)
//                into a fuller urn, probability c / m             ->  (c, e)
//
// That chain is also the trie's insert: the new key's cell decides between insert_entry (empty
// cell: the node is reallocated one entry larger), push_down (singleton: one entry larger in
// children, one smaller in entries, plus a new sub-trie) and descending (no allocation at this
// depth). So the same table gives, per K, the expected sizes of the live node, of the block an
// insert allocates at this depth and of the block it frees. Beyond k_max every urn holds two balls
// or more with probability 1 - 1e-18 and the node is treated as full.
//
// Cost: O(k_max * m^2 / 2) time and memory once per table (m = 32: k_max ~ 1,700, ~1M states), and
// as much again per node size for the first visits, cut short where a size can no longer be
// reached (~50 ms for the tables of the default layout).
#ifndef HAMT_ALLOC_MODEL_INTERNAL_URN_H_
#define HAMT_ALLOC_MODEL_INTERNAL_URN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/layout.h"

namespace model::internal {

class UrnTable {
 public:
  // `cells` = m, a power of two up to 32. Node sizes come from `layout`.
  UrnTable(unsigned cells, const Layout& layout);

  unsigned cells() const { return cells_; }
  // Largest K held exactly; for K > k_max() the node is full: (m, 0).
  unsigned k_max() const { return k_max_; }
  // Length of the per-size vectors: 1 + the largest node size in slots.
  std::size_t size_count() const { return size_count_; }
  // Slots of a full node (m children): the live size for every K > k_max().
  std::size_t full_slots() const { return full_slots_; }

  // R_m(K; c, e); 0 outside c + e <= m. K <= k_max().
  double Pattern(unsigned k, unsigned children, unsigned entries) const {
    return patterns_[static_cast<std::size_t>(k) * states_ + StateIndex(children, entries)];
  }

  // Per K <= k_max(): probability vectors indexed by node size in slots.
  //  live:  the node that holds K keys has this size;
  //  alloc: inserting one more key allocates a node of this size at this depth (the rest of the
  //         mass: the key descends, nothing allocated here);
  //  freed: that insert frees the node's old block of this size (meaningful when the node existed).
  const double* Live(unsigned k) const { return &live_[k * size_count_]; }
  const double* Alloc(unsigned k) const { return &alloc_[k * size_count_]; }
  const double* Freed(unsigned k) const { return &freed_[k * size_count_]; }
  //  first_alloc: the part of alloc where the node has never had this size before (since it held
  //         two keys): the first visit of the node to that size. A node's size goes up by an
  //         entry and down by a push-down, so it often comes back to a size it just left; a
  //         recycler's peak count of a size depends on how many nodes visit it, not how often.
  const double* FirstAlloc(unsigned k) const { return &first_alloc_[k * size_count_]; }

  // Scalar expectations per K <= k_max(), same events as above.
  double LiveBytes(unsigned k) const { return live_bytes_[k]; }
  double LiveSlots(unsigned k) const { return live_slots_[k]; }
  double AllocProbability(unsigned k) const { return alloc_probability_[k]; }
  double AllocBytes(unsigned k) const { return alloc_bytes_[k]; }
  double AllocSlots(unsigned k) const { return alloc_slots_[k]; }

 private:
  void ComputeFirstVisits(const Layout& layout);

  std::size_t StateIndex(unsigned children, unsigned entries) const {
    // Row c holds e = 0..m-c; rows before it hold sum_{i<c} (m - i + 1) states.
    return static_cast<std::size_t>(children) * (2 * cells_ + 3 - children) / 2 + entries;
  }

  unsigned cells_;
  unsigned k_max_ = 0;
  std::size_t states_;
  std::size_t size_count_;
  std::size_t full_slots_;
  std::vector<double> patterns_;
  std::vector<double> live_, alloc_, freed_, first_alloc_;
  std::vector<double> live_bytes_, live_slots_, alloc_probability_, alloc_bytes_, alloc_slots_;
};

// The binomial distribution Bin(n, p), 0 < p < 1, over the window of K whose probability times
// `scale` is above ~1e-20 of the mode's: fills pmf[i] = P(K = lo + i) and returns lo. `scale` is
// what a term gets multiplied by (the 2^prefix_bits nodes of a depth: their count Q * P(K >= 2)
// matters long after P(K >= 2) itself is negligible). The probabilities come from the ratio
// recurrence around the mode, normalized over the window, so no lgamma of a large n is involved
// (its rounding would cost 1e-6 relative at n = 1e9).
std::uint64_t BinomialPmf(std::uint64_t n, double p, std::vector<double>& pmf, double scale = 1);

}  // namespace model::internal

#endif  // HAMT_ALLOC_MODEL_INTERNAL_URN_H_
