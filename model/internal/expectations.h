// model/internal/expectations.h: the expected trie after k uniformly hashed keys, and the expected
// allocations of inserting one more, without building anything.
//
// Let Y_d be the number of the k keys that share the new key's prefix at depth d (its first
// PrefixBits(d) hash bits): Y_d ~ Binomial(k, 2^-PrefixBits(d)), and Y_0 = k. The insert walks down
// while the new key's cell holds a child; it allocates at depth d iff the node on its path at that
// depth is the deepest one that existed (it grows by one entry, or turns an entry into a child) or
// lies below it (a push-down chain), i.e. iff (d = 0 or Y_d >= 1) and Y_{d+1} <= 1. Which of these
// happens, and the size of the block, is the urn chain of urn.h applied to the Y_d keys already in
// that node; the block freed is the old node at the deepest existing depth. Summing over d:
//
//   E[allocations] = sum_d sum_K P(Y_d = K) * P(new key lands in an urn with < 2 balls | K urns)
//
// and likewise for bytes, slots and the per-size vectors. A node at depth d >= 1 exists iff two or
// more keys share its prefix, so with Q_d = 2^PrefixBits(d) prefixes
//
//   E[nodes at depth d] = Q_d * P(Binomial(k, 1 / Q_d) >= 2),
//
// and its shape given K keys is R_m(K; c, e). The collision level (all hash bits shared) holds a
// node of K entries for every full hash shared by K >= 2 keys.
//
// Everything here is exact for i.i.d. uniform hashes (drawn with replacement; a bijective hash of
// distinct keys differs only at the collision level, by O(k^2 / 2^hash_bits)), up to the urn
// table's 1e-18 truncation and the binomial window's 1e-20 tails.
//
// Cost of Evaluate: O(sum over depths of the binomial window width * sizes); the widest window is
// that of the depth whose nodes hold a few hundred to k_max keys, ~1,000 terms.
#ifndef HAMT_ALLOC_MODEL_INTERNAL_EXPECTATIONS_H_
#define HAMT_ALLOC_MODEL_INTERNAL_EXPECTATIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "model/internal/urn.h"
#include "model/layout.h"

namespace model::internal {

// Expectations at one point of the build.
struct Instant {
  // The trie holding k keys.
  double nodes = 0;
  double live_bytes = 0;
  double live_slots = 0;
  // The insert of one more key (not already present).
  double allocations = 0;
  double alloc_bytes = 0;
  double alloc_slots = 0;
  double frees = 0;
  // By node size in slots, filled only when Evaluate is asked to; the caller sizes all six to the
  // same length (sizes beyond it, huge collision nodes only, are dropped).
  std::vector<double> live;         // expected live nodes of each size
  std::vector<double> live_var;     // their variance: sum over depths of Q_d * pi * (1 - pi)
  std::vector<double> alloc;        // expected blocks of each size the insert allocates
  std::vector<double> freed;        // expected blocks of each size the insert frees
  std::vector<double> first_alloc;  // the part of alloc that is a node's first visit to a size
  std::vector<double> full;  // the part of live that is full nodes, which are never freed again

  void Resize(std::size_t sizes);
};

// The expected shape of the trie at k keys, resolved by depth and node pattern.
struct ShapeDetail {
  std::vector<double> nodes_by_depth;  // [0, BitmapLevels()]; the last entry: collision nodes
  unsigned max_cells = 0;              // histogram rows and columns: 0..max_cells
  std::vector<double>
      histogram;  // bitmap nodes with c children, e entries: [c * (max_cells+1) + e]
  std::vector<double> collision_nodes_by_entries;  // [e], e >= 2
};

class TrieExpectations {
 public:
  explicit TrieExpectations(const Layout& layout);

  const Layout& layout() const { return layout_; }

  // Length of per-size vectors that holds every bitmap node and collision nodes of up to
  // min(k, 64) entries.
  std::size_t SizeCount(std::uint64_t k) const;

  // Fills `out` for a trie of k keys and the insert of key k + 1. When `by_size`, out's vectors
  // (already sized) are overwritten too.
  void Evaluate(std::uint64_t k, bool by_size, Instant& out) const;

  ShapeDetail Shape(std::uint64_t k) const;

  // The urn table used at `depth` (< BitmapLevels()).
  const UrnTable& Table(unsigned depth) const { return *tables_[depth]; }

 private:
  Layout layout_;
  std::vector<std::shared_ptr<const UrnTable>> tables_;  // per bitmap depth; shared by equal m
};

}  // namespace model::internal

#endif  // HAMT_ALLOC_MODEL_INTERNAL_EXPECTATIONS_H_
