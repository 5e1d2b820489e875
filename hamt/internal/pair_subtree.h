// hamt/internal/pair_subtree.h: the sub-trie that an insert allocates when its key's fragment
// already holds another key (a "push down"), written once for every node header (node.h). Both
// hamt::Map (champ.h) and hamt::PersistentMap (persistent_champ.h) call it, so the blocks such an
// insert asks the policy for, and their order, are the same in both maps.
//
// The two maps allocate and free nodes differently (Map's sizing policy may round blocks up;
// PersistentMap's header holds a reference count), so both functions take the block operations
// as callables:
//   allocate(datamap, nodemap, children, entries) -> NodeT*: a block for `children` child
//       pointers and `entries` entries, its header set to the two bitmaps (a collision node:
//       datamap is its entry count, nodemap 0); may throw;
//   free(node, children, entries): returns such a block; must not throw.
//
// Cost model: one allocation per level from `shift` down to the first level where the two hashes'
// fragments differ (all the levels and a collision node when the hashes are equal).
#ifndef HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_
#define HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_

#include <cstdint>

#include "hamt/internal/node.h"

namespace hamt::internal {

// Allocates the sub-trie at `shift` that will hold two entries with hashes `hash_a` and `hash_b`:
// single-child nodes while the fragments agree, then a node with both entries (or a collision
// node). Sets *dst_a and *dst_b to where the caller constructs each entry. Frees everything it
// allocated if an allocation throws.
template <class Layout, class Allocate, class Free>
typename Layout::NodeType* AllocatePairSubtree(unsigned shift, std::uint64_t hash_a,
                                               std::uint64_t hash_b,
                                               typename Layout::EntryType** dst_a,
                                               typename Layout::EntryType** dst_b,
                                               const Allocate& allocate, const Free& free) {
  using NodeT = typename Layout::NodeType;
  if (IsCollisionLevel(shift)) {
    NodeT* node = allocate(std::uint32_t{2}, std::uint32_t{0}, 0u, 2u);
    *dst_a = Layout::Entries(node, 0);
    *dst_b = *dst_a + 1;
    return node;
  }
  const std::uint32_t bit_a = FragmentBit(hash_a, shift);
  const std::uint32_t bit_b = FragmentBit(hash_b, shift);
  if (bit_a != bit_b) {
    NodeT* node = allocate(bit_a | bit_b, std::uint32_t{0}, 0u, 2u);
    auto* entries = Layout::Entries(node, 0);
    *dst_a = entries + (bit_a > bit_b);
    *dst_b = entries + (bit_b > bit_a);
    return node;
  }
  NodeT* node = allocate(std::uint32_t{0}, bit_a, 1u, 0u);
  try {
    Layout::Children(node)[0] = AllocatePairSubtree<Layout>(shift + kBitsPerLevel, hash_a, hash_b,
                                                            dst_a, dst_b, allocate, free);
  } catch (...) {
    free(node, 1u, 0u);
    throw;
  }
  return node;
}

// Frees a sub-trie made by AllocatePairSubtree at `shift` whose entries were never constructed,
// bottom-up.
template <class Layout, class Free>
void FreePairSubtree(typename Layout::NodeType* node, unsigned shift, const Free& free) noexcept {
  if (!IsCollisionLevel(shift) && node->nodemap != 0) {
    FreePairSubtree<Layout>(Layout::Children(node)[0], shift + kBitsPerLevel, free);
    free(node, 1u, 0u);
  } else {
    free(node, 0u, 2u);
  }
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_
