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
//
// AllocatePushDown adds the rest of what a push down allocates, in the same order for both maps:
// the node that replaces the one whose entry goes down, then the pair sub-trie, then the new
// entry; the two maps differ only in how they fill the replacement (relocating, or copying from a
// node that other versions share).
#ifndef HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_
#define HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "allocators/assert.h"
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

// What AllocatePushDown made: `fresh` (its header set; children and entries not yet filled in),
// of `children` children and `entries` entries; the sub-trie `subtree` that goes at the pushed
// fragment; the new entry, constructed at *new_dst; and *existing_dst, uninitialized, where the
// caller puts the entry that was pushed down.
template <class Layout>
struct PushDownBlocks {
  typename Layout::NodeType* fresh;
  unsigned children;
  unsigned entries;
  typename Layout::NodeType* subtree;
  typename Layout::EntryType* existing_dst;
  typename Layout::EntryType* new_dst;
};

// Frees the blocks of AllocatePushDown at `shift` (the caller has destroyed the entries it
// constructed in them, the new one included), for a push down that failed later on.
template <class Layout, class Free>
void FreePushDown(const PushDownBlocks<Layout>& made, unsigned shift, const Free& free) noexcept {
  FreePairSubtree<Layout>(made.subtree, shift + kBitsPerLevel, free);
  free(made.fresh, made.children, made.entries);
}

// The allocations of a push down at `shift` from a node with bitmaps `datamap`/`nodemap` whose
// entry at fragment `bit` (hash `existing_hash`) must go down with a new key of hash `hash`: the
// replacement node (one child more, one entry fewer), the pair sub-trie, and the new entry
// constructed from `args`. All or nothing: if an allocation or the constructor throws, whatever
// was allocated is freed and nothing else has been touched.
template <class Layout, class Allocate, class Free, class... Args>
PushDownBlocks<Layout> AllocatePushDown(std::uint32_t datamap, std::uint32_t nodemap,
                                        unsigned shift, std::uint32_t bit,
                                        std::uint64_t existing_hash, std::uint64_t hash,
                                        const Allocate& allocate, const Free& free,
                                        Args&&... args) {
  HAMT_ASSERT((datamap & bit) != 0 && (nodemap & bit) == 0 && shift < kHashBits);
  PushDownBlocks<Layout> made;
  made.children = Count(nodemap) + 1;
  made.entries = Count(datamap) - 1;
  made.fresh = allocate(datamap ^ bit, nodemap | bit, made.children, made.entries);
  try {
    made.subtree = AllocatePairSubtree<Layout>(shift + kBitsPerLevel, existing_hash, hash,
                                               &made.existing_dst, &made.new_dst, allocate, free);
  } catch (...) {
    free(made.fresh, made.children, made.entries);
    throw;
  }
  try {
    std::construct_at(made.new_dst, std::forward<Args>(args)...);
  } catch (...) {
    FreePushDown(made, shift, free);
    throw;
  }
  return made;
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_PAIR_SUBTREE_H_
