// hamt/internal/persistent_champ.h: the edits behind hamt::PersistentMap. They work on the same
// CHAMP tries as hamt::Map (node.h's layout, with SharedNode's reference-counted header; trie.h's
// find, iteration and check), and differ only in how a trie changes: by path copying.
//
// Sharing. A node may be referenced by several parents (in different versions) and be the root of
// several versions; its header counts those references. A version owns one reference to its root.
// Copying a node for an edit gives each child it keeps one more reference; dropping a reference
// that was the last frees the node, first dropping its own references to its children
// (release()).
//
// An update (set or erase of one key) walks down from the root recording the path (at most 14
// nodes), changes the node at the bottom, then rebuilds the path bottom-up. A node on the path is
// *editable* when the caller hands over its reference to the root (an rvalue version:
// std::move(m).set(...)) and every node from the root down to it has a count of 1: then no other
// version can reach it, and it is changed in place, as hamt::Map does (the transient path, as in
// immer). Editability is a prefix of the path: below a shared node everything is reachable from
// another version too. So:
//   - a shared node is copied, with the one child pointer or entry that changes replaced; the
//     copy's other children get one more reference; the original stays for the other versions;
//   - an editable node whose shape does not change (a new value for a present key) is assigned in
//     place: no allocation;
//   - an editable node whose shape changes (an entry added or removed: nodes are exactly sized) is
//     reallocated, its entries relocated (moved, not copied) and its block freed, exactly as in
//     hamt::Map; its children change hands without reference-count traffic;
//   - an editable parent whose child was replaced just stores the new pointer; nothing above it
//     changes.
// Canonical form (champ.h) holds for every version, so erase pulls a lone survivor up into the
// nearest ancestor that keeps other content, as hamt::Map does.
//
// Exception safety: every allocation and every copy of an entry happens before anything shared or
// editable is modified or freed, and a partly built path is released on the way out, so an update
// that throws (allocate(), or a copy constructor) leaves every version unchanged.
//
// Cost model: a const update of a trie of depth d allocates d + 1 nodes (d + 2 when a key is
// pushed down into a new sub-node, fewer when erase pulls a survivor up), copies their entries
// and increments the count of every child they keep; the nodes it replaced are freed when the
// last version that refers to them goes. An rvalue update of an unshared version allocates what
// hamt::Map's insert or erase does (none for an assignment).
#ifndef HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_CHAMP_H_
#define HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_CHAMP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "allocators/assert.h"
#include "allocators/policy.h"
#include "hamt/internal/node.h"
#include "hamt/internal/pair_subtree.h"
#include "hamt/refcount.h"

namespace hamt::internal {

// A lineage's shared state: the allocator policy that every version allocates from and frees to,
// and the number of versions (PersistentMap objects) that refer to it. Made once, when a map is
// constructed; deleted with the last version, after its nodes.
template <allocators::AllocatorPolicy Alloc, RefcountPolicy Refcount>
struct Lineage {
  explicit Lineage(Alloc policy) : refs(1), alloc(std::move(policy)) {}

  Refcount refs;
  Alloc alloc;
};

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          RefcountPolicy Refcount>
class PersistentChamp {
 public:
  using NodeT = SharedNode<Refcount>;
  using EntryT = Entry<K, V>;
  using Layout = NodeLayout<EntryT, NodeT>;

  static_assert(alignof(K) <= allocators::kMinAlignment && alignof(V) <= allocators::kMinAlignment,
                "allocator policies guarantee only 8-byte alignment");
  static_assert(std::is_nothrow_move_constructible_v<K> && std::is_nothrow_move_constructible_v<V>,
                "entries are relocated between node arrays after the new node is allocated; a "
                "throwing move would lose them");
  static_assert(std::is_copy_constructible_v<K> && std::is_copy_constructible_v<V>,
                "a node shared with another version is copied, entries included");

  PersistentChamp(Alloc& alloc, const Hash& hash, const Eq& eq)
      : alloc_(alloc), hash_(hash), eq_(eq) {}

  std::uint64_t hash_of(const K& key) const { return static_cast<std::uint64_t>(hash_(key)); }

  // Sets key -> value in the trie under `root` and returns the new root. `owned`: the caller
  // hands over its reference to `root` (the new root's reference comes back either way); else the
  // caller keeps it and `root` is untouched. `inserted`: whether the key was new.
  template <class KeyArg, class M>
  NodeT* set(NodeT* root, bool owned, KeyArg&& key, M&& value, bool& inserted) {
    const std::uint64_t hash = hash_of(key);
    if (root == nullptr) {
      inserted = true;
      return make_leaf_root(hash, std::forward<KeyArg>(key), std::forward<M>(value));
    }
    NodeT* path[kMaxDepth];
    int last_editable = owned && root->refs.unique() ? 0 : -1;
    NodeT* node = root;
    std::uint64_t h = hash;
    for (int depth = 0;; ++depth, h >>= kBitsPerLevel) {
      HAMT_ASSERT(depth < kMaxDepth);
      path[depth] = node;
      const bool editable = depth <= last_editable;
      const unsigned shift = static_cast<unsigned>(depth) * kBitsPerLevel;
      NodeT* replacement;
      if (IsCollisionLevel(shift)) {
        replacement = editable ? set_in_collision<true>(node, std::forward<KeyArg>(key),
                                                        std::forward<M>(value), inserted)
                               : set_in_collision<false>(node, std::forward<KeyArg>(key),
                                                         std::forward<M>(value), inserted);
      } else {
        const std::uint32_t bit = std::uint32_t{1} << (h & kFragmentMask);
        const std::uint32_t datamap = node->datamap;
        const std::uint32_t nodemap = node->nodemap;
        if (!editable) PrefetchChildren(node, nodemap);
        if (nodemap & bit) {
          NodeT* child = Layout::Children(node)[IndexOf(nodemap, bit)];
          if (editable && child->refs.unique()) last_editable = depth + 1;
          node = child;
          continue;
        }
        const unsigned children = Count(nodemap);
        if (datamap & bit) {
          const unsigned index = IndexOf(datamap, bit);
          if (eq_(Layout::Entries(node, children)[index].first, key)) {
            inserted = false;
            replacement = editable ? assign<true>(node, children, Count(datamap), index,
                                                  std::forward<M>(value))
                                   : assign<false>(node, children, Count(datamap), index,
                                                   std::forward<M>(value));
          } else {
            inserted = true;
            replacement = editable ? push_down<true>(node, shift, bit, hash,
                                                     std::forward<KeyArg>(key),
                                                     std::forward<M>(value))
                                   : push_down<false>(node, shift, bit, hash,
                                                      std::forward<KeyArg>(key),
                                                      std::forward<M>(value));
          }
        } else {
          inserted = true;
          replacement = editable ? insert_entry<true>(node, bit, std::forward<KeyArg>(key),
                                                      std::forward<M>(value))
                                 : insert_entry<false>(node, bit, std::forward<KeyArg>(key),
                                                       std::forward<M>(value));
        }
      }
      return rebuild_path(path, depth, replacement, last_editable, hash, owned);
    }
  }

  // Erases `key` from the trie under `root` and returns the new root (nullptr: empty); `owned`
  // as for set(). `erased`: whether the key was present (else `root` itself comes back).
  NodeT* erase(NodeT* root, bool owned, const K& key, bool& erased);

  // Drops one reference to `node` (at depth shift / 5); the last one frees it and drops its
  // references to its children.
  void release(NodeT* node, unsigned shift) noexcept {
    if (node->refs.decrement()) destroy(node, shift);
  }

 private:
  // ---- Blocks ----

  NodeT* allocate_node(std::uint32_t datamap, std::uint32_t nodemap, unsigned children,
                       unsigned entries) {
    HAMT_ASSERT((datamap & nodemap) == 0);
    return ::new (alloc_.allocate(Layout::Bytes(children, entries))) NodeT(datamap, nodemap);
  }
  // Returns a node's block (its entries already destroyed or relocated, its children dropped or
  // handed over).
  void free_block(NodeT* node, unsigned children, unsigned entries) noexcept {
    std::destroy_at(node);
    alloc_.deallocate(node, Layout::Bytes(children, entries));
  }

  // Out of line, and its child loop decrements inline: dropping a version whose root was copied
  // visits every child of the replaced path (64 at 10K keys) and recurses only into the one that
  // dies. A call per child (release() inlined into a recursive destroy) cost a third of a
  // persistent set at 10K keys.
  [[gnu::noinline]] void destroy(NodeT* node, unsigned shift) noexcept {
    unsigned children = 0;
    unsigned entries = node->datamap;
    if (!IsCollisionLevel(shift)) {
      children = Count(node->nodemap);
      entries = Count(node->datamap);
      NodeT* const* child = Layout::Children(node);
      for (unsigned i = 0; i < children; ++i) {
        if (child[i]->refs.decrement()) [[unlikely]] destroy(child[i], shift + kBitsPerLevel);
      }
    }
    std::destroy_n(Layout::Entries(node, children), entries);
    free_block(node, children, entries);
  }

  // The children of `from` go to `to` (the same array, or with a gap at `insert_at` or without
  // the one at `skip`). An editable `from` hands its references over; a shared one keeps them, so
  // each child gets one more.
  // (One pass when shared: a copy and an increment per child, no memcpy call.)
  template <bool kEditable>
  static void TransferChildren(NodeT** to, NodeT* const* from, unsigned n) noexcept {
    if constexpr (kEditable) {
      if (n != 0) std::memcpy(to, from, n * sizeof(NodeT*));
    } else {
      for (unsigned i = 0; i < n; ++i) {
        NodeT* child = from[i];
        child->refs.increment();
        to[i] = child;
      }
    }
  }

  // A shared node on an update's path is copied (unless the key is absent, or an erase's pull-up
  // skips it), and the copy increments the count of every child it keeps
  // (TransferChildren<false>): up to 32 cache lines per node, each a dependent load after the
  // child pointer. Asked for on the way down, they arrive while the update goes on down, edits
  // the bottom and allocates; the skipped cases only waste the prefetches.
  static void PrefetchChildren(const NodeT* node, std::uint32_t nodemap) noexcept {
    NodeT* const* child = Layout::Children(node);
    const unsigned n = Count(nodemap);
    for (unsigned i = 0; i < n; ++i) __builtin_prefetch(child[i], 1);
  }

  // ---- Set ----

  template <class KeyArg, class M>
  NodeT* make_leaf_root(std::uint64_t hash, KeyArg&& key, M&& value) {
    NodeT* root = allocate_node(FragmentBit(hash, 0), 0, 0, 1);
    try {
      std::construct_at(Layout::Entries(root, 0), std::forward<KeyArg>(key),
                        std::forward<M>(value));
    } catch (...) {
      free_block(root, 0, 1);
      throw;
    }
    return root;
  }

  // A new value for the present key at `index` of a node of `children` children and `entries`
  // entries (a collision node: 0 children).
  template <bool kEditable, class M>
  NodeT* assign(NodeT* node, unsigned children, unsigned entries, unsigned index, M&& value) {
    EntryT* src = Layout::Entries(node, children);
    if constexpr (kEditable) {
      src[index].second = std::forward<M>(value);
      return node;
    } else {
      // Made first: `value` may live in this very node, and a throw leaves nothing to undo.
      EntryT made(src[index].first, std::forward<M>(value));
      NodeT* fresh = allocate_node(node->datamap, node->nodemap, children, entries);
      EntryT* dst = Layout::Entries(fresh, children);
      std::construct_at(dst + index, std::move(made));
      try {
        Layout::Copy(dst, src, index);
        try {
          Layout::Copy(dst + index + 1, src + index + 1, entries - index - 1);
        } catch (...) {
          std::destroy_n(dst, index);
          throw;
        }
      } catch (...) {
        std::destroy_at(dst + index);
        free_block(fresh, children, entries);
        throw;
      }
      TransferChildren<false>(Layout::Children(fresh), Layout::Children(node), children);
      return fresh;
    }
  }

  // The fragment is free: a node one entry larger.
  template <bool kEditable, class KeyArg, class M>
  NodeT* insert_entry(NodeT* node, std::uint32_t bit, KeyArg&& key, M&& value) {
    HAMT_ASSERT(((node->datamap | node->nodemap) & bit) == 0);
    const unsigned children = Count(node->nodemap);
    const unsigned entries = Count(node->datamap);
    const unsigned index = IndexOf(node->datamap, bit);
    NodeT* fresh = allocate_node(node->datamap | bit, node->nodemap, children, entries + 1);
    EntryT* dst = Layout::Entries(fresh, children);
    EntryT* src = Layout::Entries(node, children);
    try {
      std::construct_at(dst + index, std::forward<KeyArg>(key), std::forward<M>(value));
    } catch (...) {
      free_block(fresh, children, entries + 1);
      throw;
    }
    if constexpr (kEditable) {
      Layout::RelocateAround(dst, src, entries, index);
    } else {
      try {
        Layout::CopyAround(dst, src, entries, index);
      } catch (...) {
        std::destroy_at(dst + index);
        free_block(fresh, children, entries + 1);
        throw;
      }
    }
    TransferChildren<kEditable>(Layout::Children(fresh), Layout::Children(node), children);
    if constexpr (kEditable) free_block(node, children, entries);
    return fresh;
  }

  // The fragment holds a different key: it and the new key go down into a new sub-trie.
  template <bool kEditable, class KeyArg, class M>
  NodeT* push_down(NodeT* node, unsigned shift, std::uint32_t bit, std::uint64_t hash,
                   KeyArg&& key, M&& value) {
    HAMT_ASSERT((node->datamap & bit) != 0 && shift < kHashBits);
    const std::uint32_t datamap = node->datamap;
    const std::uint32_t nodemap = node->nodemap;
    const unsigned children = Count(nodemap);
    const unsigned entries = Count(datamap);
    const unsigned entry_index = IndexOf(datamap, bit);
    const unsigned child_index = IndexOf(nodemap, bit);
    EntryT* src = Layout::Entries(node, children);
    EntryT& existing = src[entry_index];

    const PushDownBlocks<Layout> made =
        AllocatePushDown<Layout>(datamap, nodemap, shift, bit, hash_of(existing.first), hash,
                                 block_allocator(), block_freer(), std::forward<KeyArg>(key),
                                 std::forward<M>(value));
    NodeT* fresh = made.fresh;
    EntryT* fresh_entries = Layout::Entries(fresh, children + 1);
    if constexpr (kEditable) {
      Layout::Relocate(made.existing_dst, &existing, 1);
      Layout::RelocateExcept(fresh_entries, src, entries, entry_index);
    } else {
      try {
        Layout::Copy(made.existing_dst, &existing, 1);
      } catch (...) {
        std::destroy_at(made.new_dst);
        FreePushDown(made, shift, block_freer());
        throw;
      }
      try {
        Layout::CopyExcept(fresh_entries, src, entries, entry_index);
      } catch (...) {
        std::destroy_at(made.existing_dst);
        std::destroy_at(made.new_dst);
        FreePushDown(made, shift, block_freer());
        throw;
      }
    }
    NodeT** fresh_children = Layout::Children(fresh);
    NodeT* const* old_children = Layout::Children(node);
    TransferChildren<kEditable>(fresh_children, old_children, child_index);
    fresh_children[child_index] = made.subtree;
    TransferChildren<kEditable>(fresh_children + child_index + 1, old_children + child_index,
                                children - child_index);
    if constexpr (kEditable) free_block(node, children, entries);
    return fresh;
  }

  // The block operations of pair_subtree.h, on this lineage's policy.
  auto block_allocator() noexcept {
    return [this](std::uint32_t datamap, std::uint32_t nodemap, unsigned children,
                  unsigned entries) {
      return allocate_node(datamap, nodemap, children, entries);
    };
  }
  auto block_freer() noexcept {
    return [this](NodeT* node, unsigned children, unsigned entries) noexcept {
      free_block(node, children, entries);
    };
  }

  template <bool kEditable, class KeyArg, class M>
  NodeT* set_in_collision(NodeT* node, KeyArg&& key, M&& value, bool& inserted) {
    HAMT_ASSERT(node->nodemap == 0 && node->datamap >= 2);
    const std::uint32_t count = node->datamap;
    EntryT* src = Layout::Entries(node, 0);
    for (std::uint32_t i = 0; i < count; ++i) {
      if (eq_(src[i].first, key)) {
        inserted = false;
        return assign<kEditable>(node, 0, count, i, std::forward<M>(value));
      }
    }
    inserted = true;
    NodeT* fresh = allocate_node(count + 1, 0, 0, count + 1);
    EntryT* dst = Layout::Entries(fresh, 0);
    try {
      std::construct_at(dst + count, std::forward<KeyArg>(key), std::forward<M>(value));
    } catch (...) {
      free_block(fresh, 0, count + 1);
      throw;
    }
    if constexpr (kEditable) {
      Layout::Relocate(dst, src, count);
      free_block(node, 0, count);
    } else {
      try {
        Layout::Copy(dst, src, count);
      } catch (...) {
        std::destroy_at(dst + count);
        free_block(fresh, 0, count + 1);
        throw;
      }
    }
    return fresh;
  }

  // ---- Erase ----

  // A node one entry smaller: the entry at `index` goes; `datamap` is the new node's (a
  // collision node: its count).
  template <bool kEditable>
  NodeT* remove_entry(NodeT* node, unsigned children, unsigned entries, unsigned index,
                      std::uint32_t datamap) {
    NodeT* fresh = allocate_node(datamap, node->nodemap, children, entries - 1);
    EntryT* src = Layout::Entries(node, children);
    EntryT* dst = Layout::Entries(fresh, children);
    if constexpr (kEditable) {
      Layout::RelocateExcept(dst, src, entries, index);
      std::destroy_at(src + index);
    } else {
      try {
        Layout::CopyExcept(dst, src, entries, index);
      } catch (...) {
        free_block(fresh, children, entries - 1);
        throw;
      }
    }
    TransferChildren<kEditable>(Layout::Children(fresh), Layout::Children(node), children);
    if constexpr (kEditable) free_block(node, children, entries);
    return fresh;
  }

  // The leaf path[depth] (not the root, no children, two entries) loses the entry at
  // 1 - survivor; the survivor moves up into path[target], the nearest ancestor that keeps other
  // content (or the root), in place of the child pointer that led down to it. Returns
  // path[target]'s replacement; frees what only this version held.
  NodeT* pull_up_survivor(NodeT* const* path, int target, int depth, unsigned survivor,
                          int last_editable, std::uint64_t hash);

  // Rebuilds the path above path[depth], which `replacement` replaces (possibly itself, changed
  // in place): shared ancestors are copied with the new child, the first editable one stores it.
  // Returns the new root. If a copy throws, the replacement subtree is released and every version
  // is as it was.
  NodeT* rebuild_path(NodeT* const* path, int depth, NodeT* replacement, int last_editable,
                      std::uint64_t hash, bool owned) {
    for (int d = depth - 1; d >= 0; --d) {
      NodeT* parent = path[d];
      NodeT* old_child = path[d + 1];
      const unsigned shift = static_cast<unsigned>(d) * kBitsPerLevel;
      const unsigned index = IndexOf(parent->nodemap, FragmentBit(hash, shift));
      if (d <= last_editable) {
        if (replacement != old_child) {
          Layout::Children(parent)[index] = replacement;
          // An editable child was consumed by the edit; a shared one loses this parent.
          if (d + 1 > last_editable) release(old_child, shift + kBitsPerLevel);
        }
        return path[0];  // the ancestors are editable too, and unchanged
      }
      try {
        replacement = copy_with_child(parent, index, replacement);
      } catch (...) {
        release(replacement, shift + kBitsPerLevel);
        throw;
      }
    }
    // The root was copied (or replaced): an owned reference to the old one is dropped now.
    if (owned && last_editable < 0 && replacement != path[0]) release(path[0], 0);
    return replacement;
  }

  // A copy of shared bitmap node `node` whose child at `index` is `child`.
  NodeT* copy_with_child(NodeT* node, unsigned index, NodeT* child) {
    const unsigned children = Count(node->nodemap);
    const unsigned entries = Count(node->datamap);
    NodeT* fresh = allocate_node(node->datamap, node->nodemap, children, entries);
    try {
      Layout::Copy(Layout::Entries(fresh, children), Layout::Entries(node, children), entries);
    } catch (...) {
      free_block(fresh, children, entries);
      throw;
    }
    NodeT** to = Layout::Children(fresh);
    NodeT* const* from = Layout::Children(node);
    TransferChildren<false>(to, from, index);
    to[index] = child;
    TransferChildren<false>(to + index + 1, from + index + 1, children - index - 1);
    return fresh;
  }

  Alloc& alloc_;
  const Hash& hash_;
  const Eq& eq_;
};

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          RefcountPolicy Refcount>
auto PersistentChamp<K, V, Hash, Eq, Alloc, Refcount>::erase(NodeT* root, bool owned,
                                                             const K& key, bool& erased)
    -> NodeT* {
  erased = false;
  if (root == nullptr) return nullptr;
  const std::uint64_t hash = hash_of(key);
  NodeT* path[kMaxDepth];
  int last_editable = owned && root->refs.unique() ? 0 : -1;
  NodeT* node = root;
  for (int depth = 0;; ++depth) {
    HAMT_ASSERT(depth < kMaxDepth);
    path[depth] = node;
    const bool editable = depth <= last_editable;
    const unsigned shift = static_cast<unsigned>(depth) * kBitsPerLevel;
    unsigned index;
    unsigned entries;
    std::uint32_t smaller_datamap;  // the node's datamap without the key
    if (IsCollisionLevel(shift)) {
      entries = node->datamap;
      const EntryT* src = Layout::Entries(node, 0);
      for (index = 0; index < entries && !eq_(src[index].first, key); ++index) {
      }
      if (index == entries) return root;
      smaller_datamap = entries - 1;
    } else {
      const std::uint32_t bit = FragmentBit(hash, shift);
      if (!editable) PrefetchChildren(node, node->nodemap);
      if (node->nodemap & bit) {
        NodeT* child = Layout::Children(node)[IndexOf(node->nodemap, bit)];
        if (editable && child->refs.unique()) last_editable = depth + 1;
        node = child;
        continue;
      }
      if (!(node->datamap & bit)) return root;
      index = IndexOf(node->datamap, bit);
      if (!eq_(Layout::Entries(node, Count(node->nodemap))[index].first, key)) return root;
      entries = Count(node->datamap);
      smaller_datamap = node->datamap ^ bit;
    }
    erased = true;
    if (depth == 0 && entries == 1 && node->nodemap == 0) {  // the last entry of the map
      if (editable) {
        std::destroy_at(Layout::Entries(node, 0));
        free_block(node, 0, 1);
      } else if (owned) {
        release(node, 0);
      }
      return nullptr;
    }
    if (depth > 0 && entries == 2 && node->nodemap == 0) {
      int target = depth - 1;
      while (target > 0 && path[target]->datamap == 0 && Count(path[target]->nodemap) == 1) {
        --target;
      }
      NodeT* replacement =
          pull_up_survivor(path, target, depth, 1 - index, last_editable, hash);
      return rebuild_path(path, target, replacement, last_editable, hash, owned);
    }
    const unsigned children = Count(node->nodemap);  // collision nodes: nodemap 0
    NodeT* replacement =
        editable ? remove_entry<true>(node, children, entries, index, smaller_datamap)
                 : remove_entry<false>(node, children, entries, index, smaller_datamap);
    return rebuild_path(path, depth, replacement, last_editable, hash, owned);
  }
}

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          RefcountPolicy Refcount>
auto PersistentChamp<K, V, Hash, Eq, Alloc, Refcount>::pull_up_survivor(
    NodeT* const* path, int target, int depth, unsigned survivor, int last_editable,
    std::uint64_t hash) -> NodeT* {
  NodeT* parent = path[target];
  NodeT* leaf = path[depth];
  HAMT_ASSERT(target < depth && survivor < 2 && leaf->nodemap == 0);
  const bool parent_editable = target <= last_editable;
  const bool leaf_editable = depth <= last_editable;  // implies parent_editable
  const std::uint32_t bit = FragmentBit(hash, static_cast<unsigned>(target) * kBitsPerLevel);
  HAMT_ASSERT((parent->nodemap & bit) != 0);
  const unsigned children = Count(parent->nodemap);
  const unsigned entries = Count(parent->datamap);
  const unsigned child_index = IndexOf(parent->nodemap, bit);
  const unsigned entry_index = IndexOf(parent->datamap, bit);
  EntryT* leaf_entries = Layout::Entries(leaf, 0);

  NodeT* fresh =
      allocate_node(parent->datamap | bit, parent->nodemap ^ bit, children - 1, entries + 1);
  EntryT* dst = Layout::Entries(fresh, children - 1);
  EntryT* src = Layout::Entries(parent, children);
  if (leaf_editable) {
    // Everything from the parent down is this version's alone: nothing below can throw.
    Layout::Relocate(dst + entry_index, leaf_entries + survivor, 1);
    Layout::RelocateAround(dst, src, entries, entry_index);
  } else {
    try {
      Layout::Copy(dst + entry_index, leaf_entries + survivor, 1);
    } catch (...) {
      free_block(fresh, children - 1, entries + 1);
      throw;
    }
    if (parent_editable) {
      Layout::RelocateAround(dst, src, entries, entry_index);
    } else {
      try {
        Layout::CopyAround(dst, src, entries, entry_index);
      } catch (...) {
        std::destroy_at(dst + entry_index);
        free_block(fresh, children - 1, entries + 1);
        throw;
      }
    }
  }
  NodeT** to = Layout::Children(fresh);
  NodeT* const* from = Layout::Children(parent);
  if (parent_editable) {
    TransferChildren<true>(to, from, child_index);
    TransferChildren<true>(to + child_index, from + child_index + 1, children - child_index - 1);
  } else {
    TransferChildren<false>(to, from, child_index);
    TransferChildren<false>(to + child_index, from + child_index + 1, children - child_index - 1);
    return fresh;  // the old parent, and the chain below it, stay with the other versions
  }
  // The parent was this version's alone: free it and the chain down to the leaf, as far as the
  // chain is this version's alone too; the first shared node just loses its reference.
  free_block(parent, children, entries);
  for (int d = target + 1; d <= depth; ++d) {
    NodeT* node = path[d];
    if (d > last_editable) {
      release(node, static_cast<unsigned>(d) * kBitsPerLevel);
      break;
    }
    if (d == depth) {
      std::destroy_at(leaf_entries + (1 - survivor));
      free_block(leaf, 0, 2);
    } else {
      free_block(node, 1, 0);
    }
  }
  return fresh;
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_CHAMP_H_
