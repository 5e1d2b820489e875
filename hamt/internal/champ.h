// hamt/internal/champ.h: the CHAMP trie behind hamt::Map.
//
// Layout. A hash array mapped trie consumes the 64-bit hash of a key 5 bits at a time: the node at
// depth d dispatches on bits [5d, 5d + 5). Each node keeps two 32-bit bitmaps (CHAMP, Steindorfer
// & Vinju 2015): `datamap` marks fragments that hold a key/value pair inline, `nodemap` marks
// fragments that hold a child node; the two never overlap. Children and entries live in one
// block (node.h), exactly sized by default, so a node of c children and e entries costs
// 8 + 8c + e * sizeof(Entry) bytes: an int64 -> int64 entry costs 16 bytes plus its share of the
// nodes (~21 bytes in all at 1M keys). After 13 levels the hash is used up; keys that still agree
// on all 64 bits share a collision node (an unsorted array searched linearly), so a constant hash
// is slow but correct.
//
// Canonical form. Every node except the root holds at least two entries or at least one child: a
// sub-node left with a single entry is pulled up into its parent. Thus the shape of the trie
// depends only on the set of keys, never on the order of operations, and check_invariants() can
// verify it.
//
// find walks down with a loop: test the fragment bit in datamap (compare the one candidate key),
// else in nodemap (descend), else absent. The hash is computed once. find, iteration and
// check_invariants() are trie.h's, shared with hamt::PersistentMap.
//
// insert walks down the same way keeping `slot`, the address of the pointer to the current node
// (the root pointer or a cell in the parent's child array). With exactly sized nodes (the default,
// hamt/node_sizing.h) nodes are never resized in place: adding an entry allocates a node one entry
// larger, relocates into it, frees the old node with its size, and stores the new node through
// `slot`. With rounded sizes, a node whose size class has room takes the entry in place. When the
// fragment is occupied by a different key, both keys are pushed down into a new sub-trie (its chain
// ends where their hashes first differ, or in a collision node); the existing key's hash is
// recomputed rather than stored, since storing it would cost 8 bytes per entry.
//
// erase records the slots it passed through (at most 14). Removing an entry shrinks the node by
// one; if that leaves a non-root node with a single entry and no children, the survivor moves up,
// past any ancestors that would themselves be left holding only it, into the first ancestor that
// keeps other content (or the root), replacing the child pointer there.
//
// Every allocation happens before anything is moved, so allocate() throwing std::bad_alloc (or
// the new key or value's constructor throwing) leaves the map unchanged.
//
// Assertions (allocators/assert.h): each step opens with its preconditions as HAMT_ASSERT (debug
// and sanitizer builds); with --config=expensive_checks every insert and erase ends with a full
// check_invariants() (quadratic over a test: for unit tests and short fuzz runs).
#ifndef HAMT_ALLOC_HAMT_INTERNAL_CHAMP_H_
#define HAMT_ALLOC_HAMT_INTERNAL_CHAMP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "allocators/assert.h"
#include "allocators/policy.h"
#include "hamt/internal/node.h"
#include "hamt/internal/pair_subtree.h"
#include "hamt/internal/trie.h"
#include "hamt/node_sizing.h"

namespace hamt::internal {

using hamt::NodeSizing;

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          NodeSizing Sizing>
class Champ {
 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = Entry<K, V>;
  using size_type = std::size_t;
  using hasher = Hash;
  using key_equal = Eq;
  using allocator_type = Alloc;

  static_assert(alignof(K) <= allocators::kMinAlignment && alignof(V) <= allocators::kMinAlignment,
                "allocator policies guarantee only 8-byte alignment");
  static_assert(std::is_nothrow_move_constructible_v<K> && std::is_nothrow_move_constructible_v<V>,
                "entries are relocated between node arrays after the new node is allocated; a "
                "throwing move would lose them");

  using const_iterator = TrieIterator<NodeLayout<Entry<K, V>>>;
  using iterator = const_iterator;

  // Bytes allocated for a node with the given numbers of children and entries (collision nodes:
  // 0 children): its layout's bytes, rounded up by the sizing (node_sizing.h).
  static constexpr std::size_t NodeBytes(std::size_t children, std::size_t entries) {
    return Sizing::Capacity(Layout::Bytes(children, entries));
  }

  Champ(Hash hash, Eq eq, Alloc alloc)
      : hash_(std::move(hash)), eq_(std::move(eq)), alloc_(std::move(alloc)) {}

  Champ(const Champ&) = delete;
  Champ& operator=(const Champ&) = delete;

  Champ(Champ&& other) noexcept
      : root_(std::exchange(other.root_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        hash_(std::move(other.hash_)),
        eq_(std::move(other.eq_)),
        alloc_(std::move(other.alloc_)) {}

  // Frees this map's nodes with its own policy, then takes over the other map's nodes together
  // with the policy they came from.
  Champ& operator=(Champ&& other) noexcept {
    if (this != &other) {
      clear();
      root_ = std::exchange(other.root_, nullptr);
      size_ = std::exchange(other.size_, 0);
      hash_ = std::move(other.hash_);
      eq_ = std::move(other.eq_);
      alloc_ = std::move(other.alloc_);
    }
    return *this;
  }

  ~Champ() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Alloc& allocator() { return alloc_; }
  const Alloc& allocator() const { return alloc_; }

  void clear() noexcept {
    if (root_ != nullptr) destroy_subtree(root_, 0);
    root_ = nullptr;
    size_ = 0;
  }

  const V* find(const K& key) const {
    if (root_ == nullptr) [[unlikely]] return nullptr;
    return FindValue<Layout>(root_, hash_of(key), key, eq_);
  }

  // The pointer is valid until the next insert or erase.
  V* find(const K& key) { return const_cast<V*>(std::as_const(*this).find(key)); }

  bool contains(const K& key) const { return find(key) != nullptr; }

  // Inserts key -> V(value_args...) unless the key is present; the arguments are not touched
  // then. Returns the value's address (valid until the next insert or erase) and whether it
  // inserted.
  template <class... ValueArgs>
  std::pair<V*, bool> try_emplace(const K& key, ValueArgs&&... value_args) {
    return checked(emplace_unique(key, std::forward<ValueArgs>(value_args)...));
  }
  template <class... ValueArgs>
  std::pair<V*, bool> try_emplace(K&& key, ValueArgs&&... value_args) {
    return checked(emplace_unique(std::move(key), std::forward<ValueArgs>(value_args)...));
  }

  // Inserts key -> value, or assigns value to the present key. Same result as try_emplace.
  template <class M>
  std::pair<V*, bool> insert_or_assign(const K& key, M&& value) {
    return checked(assign_or_emplace(key, std::forward<M>(value)));
  }
  template <class M>
  std::pair<V*, bool> insert_or_assign(K&& key, M&& value) {
    return checked(assign_or_emplace(std::move(key), std::forward<M>(value)));
  }

  // Removes the key; returns whether it was present.
  bool erase(const K& key) { return checked(erase_key(key)); }

  const_iterator begin() const { return const_iterator(root_); }
  const_iterator end() const { return const_iterator(); }

  // Verifies bitmaps, hash prefixes, canonical form, collision nodes and the size (trie.h).
  // Returns an empty string when the trie is sound, else a description of the first violation.
  std::string check_invariants() const {
    return CheckTrie<Layout>(
        root_, size_, [this](const K& key) { return hash_of(key); }, eq_,
        [](const Node&, std::string&) {});
  }

 private:
  using Layout = NodeLayout<Entry<K, V>>;
  using EntryT = Entry<K, V>;

  std::uint64_t hash_of(const K& key) const { return static_cast<std::uint64_t>(hash_(key)); }

  // Passes `result` through; with expensive checks, first verifies the whole trie.
  template <class Result>
  Result checked(Result result) const {
    if constexpr (allocators::kExpensiveChecks) {
      const std::string error = check_invariants();
      if (!error.empty()) allocators::AssertFail(error.c_str(), __FILE__, __LINE__, __func__);
    }
    return result;
  }

  // ---- Allocation: every node is allocated and freed through these, NodeBytes in size. ----

  Node* allocate_node(std::uint32_t datamap, std::uint32_t nodemap) {
    HAMT_ASSERT((datamap & nodemap) == 0);
    return allocate_block(datamap, nodemap, Count(nodemap), Count(datamap));
  }
  // Same, when the caller already knows the popcounts of the two bitmaps.
  Node* allocate_node(std::uint32_t datamap, std::uint32_t nodemap, unsigned children,
                      unsigned entries) {
    HAMT_ASSERT((datamap & nodemap) == 0);
    HAMT_ASSERT(children == Count(nodemap) && entries == Count(datamap));
    return allocate_block(datamap, nodemap, children, entries);
  }
  Node* allocate_collision_node(std::uint32_t entries) {
    HAMT_ASSERT(entries >= 2);
    return allocate_block(entries, 0, 0, entries);
  }
  // The block of a node of `children` children and `entries` entries, its header {datamap,
  // nodemap} (a collision node's datamap is its entry count): what the checked calls above and
  // AllocatePairSubtree (pair_subtree.h, which makes well-formed headers itself) share.
  Node* allocate_block(std::uint32_t datamap, std::uint32_t nodemap, unsigned children,
                       unsigned entries) {
    return ::new (alloc_.allocate(NodeBytes(children, entries))) Node{datamap, nodemap};
  }
  void deallocate_node(Node* node, unsigned children, unsigned entries) noexcept {
    HAMT_ASSERT(node != nullptr);
    alloc_.deallocate(node, NodeBytes(children, entries));
  }
  // Frees a node given its depth's shift (its header still intact), without touching entries.
  void deallocate_node(Node* node, unsigned shift) noexcept {
    if (IsCollisionLevel(shift)) {
      deallocate_node(node, 0, node->datamap);
    } else {
      deallocate_node(node, Count(node->nodemap), Count(node->datamap));
    }
  }

  void destroy_subtree(Node* node, unsigned shift) noexcept {
    unsigned children = 0;
    unsigned entries = node->datamap;
    if (!IsCollisionLevel(shift)) {
      children = Count(node->nodemap);
      entries = Count(node->datamap);
      for (unsigned i = 0; i < children; ++i) {
        destroy_subtree(Layout::Children(node)[i], shift + kBitsPerLevel);
      }
    }
    std::destroy_n(Layout::Entries(node, children), entries);
    deallocate_node(node, children, entries);
  }

  // ---- Insert ----

  template <class KeyArg, class M>
  std::pair<V*, bool> assign_or_emplace(KeyArg&& key, M&& value) {
    auto [slot, inserted] = emplace_unique(std::forward<KeyArg>(key), std::forward<M>(value));
    if (!inserted) *slot = std::forward<M>(value);
    return {slot, inserted};
  }

  template <class KeyArg, class... ValueArgs>
  std::pair<V*, bool> emplace_unique(KeyArg&& key, ValueArgs&&... value_args) {
    const std::uint64_t hash = hash_of(key);
    if (root_ == nullptr) {
      Node* root = allocate_node(FragmentBit(hash, 0), 0);
      EntryT* entry = Layout::Entries(root, 0);
      construct_or_free(root, 0, entry, std::forward<KeyArg>(key),
                        std::forward<ValueArgs>(value_args)...);
      root_ = root;
      size_ = 1;
      return {&entry->second, true};
    }
    Node** slot = &root_;
    std::uint64_t h = hash;  // the hash bits not yet consumed
    for (unsigned shift = 0; shift < kHashBits; shift += kBitsPerLevel, h >>= kBitsPerLevel) {
      Node* node = *slot;
      const std::uint32_t bit = std::uint32_t{1} << (h & kFragmentMask);
      const std::uint32_t datamap = node->datamap;
      const std::uint32_t nodemap = node->nodemap;
      if (nodemap & bit) {
        slot = &Layout::Children(node)[IndexOf(nodemap, bit)];
        continue;
      }
      const unsigned children = Count(nodemap);
      if (datamap & bit) {
        EntryT& existing = Layout::Entries(node, children)[IndexOf(datamap, bit)];
        if (eq_(existing.first, key)) return {&existing.second, false};
        return push_down(slot, shift, bit, hash, std::forward<KeyArg>(key),
                         std::forward<ValueArgs>(value_args)...);
      }
      return insert_entry(slot, bit, children, std::forward<KeyArg>(key),
                          std::forward<ValueArgs>(value_args)...);
    }
    return emplace_in_collision(slot, std::forward<KeyArg>(key),
                                std::forward<ValueArgs>(value_args)...);
  }

  // Constructs the new entry at `dst` inside freshly allocated `fresh`; if construction throws,
  // frees `fresh` before rethrowing. `shift` only tells bitmap nodes (any shift < 64, e.g. 0)
  // from collision nodes.
  template <class KeyArg, class... ValueArgs>
  void construct_or_free(Node* fresh, unsigned shift, EntryT* dst, KeyArg&& key,
                         ValueArgs&&... value_args) {
    try {
      std::construct_at(dst, std::forward<KeyArg>(key), std::forward<ValueArgs>(value_args)...);
    } catch (...) {
      deallocate_node(fresh, shift);
      throw;
    }
  }

  // The fragment is free: replace *slot by a copy one entry larger. `children` is
  // Count(old->nodemap), already known to the caller.
  template <class KeyArg, class... ValueArgs>
  std::pair<V*, bool> insert_entry(Node** slot, std::uint32_t bit, unsigned children,
                                   KeyArg&& key, ValueArgs&&... value_args) {
    Node* old = *slot;
    HAMT_ASSERT(((old->datamap | old->nodemap) & bit) == 0);  // the fragment is free
    HAMT_ASSERT(children == Count(old->nodemap));
    const std::uint32_t datamap = old->datamap;
    const unsigned entries = Count(datamap);
    const unsigned index = IndexOf(datamap, bit);
    if (NodeBytes(children, entries + 1) == NodeBytes(children, entries)) {
      return insert_entry_in_place(old, bit, children, entries, index, std::forward<KeyArg>(key),
                                   std::forward<ValueArgs>(value_args)...);
    }
    Node* fresh = allocate_node(datamap | bit, old->nodemap, children, entries + 1);
    EntryT* dst = Layout::Entries(fresh, children);
    construct_or_free(fresh, 0, dst + index, std::forward<KeyArg>(key),
                      std::forward<ValueArgs>(value_args)...);
    EntryT* src = Layout::Entries(old, children);
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      // Children and the entries before `index` are contiguous in both nodes: one copy, then
      // one for the entries after the new one.
      std::memcpy(Layout::Children(fresh), Layout::Children(old),
                  children * sizeof(Node*) + index * sizeof(EntryT));
      std::memcpy(static_cast<void*>(dst + index + 1), src + index,
                  (entries - index) * sizeof(EntryT));
    } else {
      std::memcpy(Layout::Children(fresh), Layout::Children(old), children * sizeof(Node*));
      Layout::RelocateAround(dst, src, entries, index);
    }
    deallocate_node(old, children, entries);
    *slot = fresh;
    ++size_;
    return {&dst[index].second, true};
  }

  // insert_entry when the node's size class has room for one more entry (never with ExactNodes):
  // the entries from `index` on move up by one. The entry is made first, so that a throwing
  // constructor leaves the node untouched and a key that refers into this node is read intact.
  template <class KeyArg, class... ValueArgs>
  std::pair<V*, bool> insert_entry_in_place(Node* node, std::uint32_t bit, unsigned children,
                                            unsigned entries, unsigned index, KeyArg&& key,
                                            ValueArgs&&... value_args) {
    EntryT made(std::forward<KeyArg>(key), std::forward<ValueArgs>(value_args)...);
    EntryT* slots = Layout::Entries(node, children);
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      std::memmove(static_cast<void*>(slots + index + 1), slots + index,
                   (entries - index) * sizeof(EntryT));
    } else {
      for (unsigned i = entries; i > index; --i) Layout::Relocate(slots + i, slots + i - 1, 1);
    }
    std::construct_at(slots + index, std::move(made));  // nothrow (static_assert above)
    node->datamap |= bit;
    ++size_;
    return {&slots[index].second, true};
  }

  // The fragment holds a different key: move it and the new key into a new sub-trie at `bit`.
  template <class KeyArg, class... ValueArgs>
  std::pair<V*, bool> push_down(Node** slot, unsigned shift, std::uint32_t bit,
                                std::uint64_t hash, KeyArg&& key, ValueArgs&&... value_args) {
    Node* old = *slot;
    HAMT_ASSERT((old->datamap & bit) != 0 && (old->nodemap & bit) == 0);  // an entry, not a child
    HAMT_ASSERT(shift < kHashBits);
    const std::uint32_t datamap = old->datamap;
    const std::uint32_t nodemap = old->nodemap;
    const unsigned children = Count(nodemap);
    const unsigned entries = Count(datamap);
    const unsigned entry_index = IndexOf(datamap, bit);
    const unsigned child_index = IndexOf(nodemap, bit);
    EntryT* old_entries = Layout::Entries(old, children);
    EntryT& existing = old_entries[entry_index];

    const PushDownBlocks<Layout> made =
        AllocatePushDown<Layout>(datamap, nodemap, shift, bit, hash_of(existing.first), hash,
                                 block_allocator(), block_freer(), std::forward<KeyArg>(key),
                                 std::forward<ValueArgs>(value_args)...);
    Layout::Relocate(made.existing_dst, &existing, 1);

    Node* fresh = made.fresh;
    Node** fresh_children = Layout::Children(fresh);
    Node** old_children = Layout::Children(old);
    EntryT* fresh_entries = Layout::Entries(fresh, children + 1);
    std::memcpy(fresh_children, old_children, child_index * sizeof(Node*));
    fresh_children[child_index] = made.subtree;
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      // The children after `child_index` and the entries before `entry_index` are contiguous in
      // both nodes: one copy. `existing` has been relocated already: skip its slot.
      std::memcpy(fresh_children + child_index + 1, old_children + child_index,
                  (children - child_index) * sizeof(Node*) + entry_index * sizeof(EntryT));
      std::memcpy(static_cast<void*>(fresh_entries + entry_index), old_entries + entry_index + 1,
                  (entries - entry_index - 1) * sizeof(EntryT));
    } else {
      std::memcpy(fresh_children + child_index + 1, old_children + child_index,
                  (children - child_index) * sizeof(Node*));
      // `existing` has been relocated already: move the others around its slot.
      Layout::Relocate(fresh_entries, old_entries, entry_index);
      Layout::Relocate(fresh_entries + entry_index, old_entries + entry_index + 1,
                       entries - entry_index - 1);
    }
    deallocate_node(old, children, entries);
    *slot = fresh;
    ++size_;
    return {&made.new_dst->second, true};
  }

  // The block operations of pair_subtree.h, on this map's policy.
  auto block_allocator() noexcept {
    return [this](std::uint32_t datamap, std::uint32_t nodemap, unsigned children,
                  unsigned entries) {
      return allocate_block(datamap, nodemap, children, entries);
    };
  }
  auto block_freer() noexcept {
    return [this](Node* node, unsigned children, unsigned entries) noexcept {
      deallocate_node(node, children, entries);
    };
  }

  template <class KeyArg, class... ValueArgs>
  std::pair<V*, bool> emplace_in_collision(Node** slot, KeyArg&& key, ValueArgs&&... value_args) {
    Node* old = *slot;
    HAMT_ASSERT(old->nodemap == 0 && old->datamap >= 2);  // a collision node
    const std::uint32_t count = old->datamap;
    EntryT* old_entries = Layout::Entries(old, 0);
    for (std::uint32_t i = 0; i < count; ++i) {
      if (eq_(old_entries[i].first, key)) return {&old_entries[i].second, false};
    }
    Node* fresh = allocate_collision_node(count + 1);
    EntryT* dst = Layout::Entries(fresh, 0);
    construct_or_free(fresh, kHashBits, dst + count, std::forward<KeyArg>(key),
                      std::forward<ValueArgs>(value_args)...);
    Layout::Relocate(dst, old_entries, count);
    deallocate_node(old, 0, count);
    *slot = fresh;
    ++size_;
    return {&dst[count].second, true};
  }

  // ---- Erase ----

  bool erase_key(const K& key);
  void erase_from_collision(Node** slot, unsigned index);
  void erase_from_bitmap(Node** slot, std::uint32_t bit, bool is_root);
  void pull_up_survivor(Node** const* path, int depth, std::uint64_t hash, unsigned erased_index);

  Node* root_ = nullptr;
  std::size_t size_ = 0;
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] Eq eq_;
  [[no_unique_address]] Alloc alloc_;
};

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          NodeSizing Sizing>
bool Champ<K, V, Hash, Eq, Alloc, Sizing>::erase_key(const K& key) {
  if (root_ == nullptr) return false;
  const std::uint64_t hash = hash_of(key);
  Node** path[kMaxDepth];  // path[d]: the slot holding the node at depth d
  Node** slot = &root_;
  for (int depth = 0;; ++depth) {
    HAMT_ASSERT(depth < kMaxDepth);
    path[depth] = slot;
    Node* node = *slot;
    const unsigned shift = static_cast<unsigned>(depth) * kBitsPerLevel;
    if (IsCollisionLevel(shift)) {
      EntryT* entries = Layout::Entries(node, 0);
      for (unsigned i = 0; i < node->datamap; ++i) {
        if (!eq_(entries[i].first, key)) continue;
        if (node->datamap == 2) {
          pull_up_survivor(path, depth, hash, i);
        } else {
          erase_from_collision(slot, i);
        }
        return true;
      }
      return false;
    }
    const std::uint32_t bit = FragmentBit(hash, shift);
    if (node->nodemap & bit) {
      slot = &Layout::Children(node)[IndexOf(node->nodemap, bit)];
      continue;
    }
    if (!(node->datamap & bit)) return false;
    const unsigned index = IndexOf(node->datamap, bit);
    if (!eq_(Layout::Entries(node, Count(node->nodemap))[index].first, key)) return false;
    if (depth > 0 && node->nodemap == 0 && Count(node->datamap) == 2) {
      pull_up_survivor(path, depth, hash, index);
    } else {
      erase_from_bitmap(slot, bit, depth == 0);
    }
    return true;
  }
}

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          NodeSizing Sizing>
void Champ<K, V, Hash, Eq, Alloc, Sizing>::erase_from_collision(Node** slot, unsigned index) {
  Node* old = *slot;
  const std::uint32_t count = old->datamap;
  HAMT_ASSERT(old->nodemap == 0 && count > 2 && index < count);  // two entries: pull_up_survivor
  Node* fresh = allocate_collision_node(count - 1);
  EntryT* old_entries = Layout::Entries(old, 0);
  Layout::RelocateExcept(Layout::Entries(fresh, 0), old_entries, count, index);
  std::destroy_at(old_entries + index);
  deallocate_node(old, 0, count);
  *slot = fresh;
  --size_;
}

template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          NodeSizing Sizing>
void Champ<K, V, Hash, Eq, Alloc, Sizing>::erase_from_bitmap(Node** slot, std::uint32_t bit,
                                                     bool is_root) {
  Node* old = *slot;
  HAMT_ASSERT((old->datamap & bit) != 0);
  const unsigned children = Count(old->nodemap);
  const unsigned entries = Count(old->datamap);
  const unsigned index = IndexOf(old->datamap, bit);
  EntryT* old_entries = Layout::Entries(old, children);
  if (is_root && entries == 1 && children == 0) {
    std::destroy_at(old_entries);
    deallocate_node(old, 0, 1);
    root_ = nullptr;
    size_ = 0;
    return;
  }
  if (NodeBytes(children, entries - 1) == NodeBytes(children, entries)) {
    // The smaller node keeps its size class (never with ExactNodes): close the gap in place.
    std::destroy_at(old_entries + index);
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      std::memmove(static_cast<void*>(old_entries + index), old_entries + index + 1,
                   (entries - index - 1) * sizeof(EntryT));
    } else {
      for (unsigned i = index; i + 1 < entries; ++i) {
        Layout::Relocate(old_entries + i, old_entries + i + 1, 1);
      }
    }
    old->datamap ^= bit;
    --size_;
    return;
  }
  Node* fresh = allocate_node(old->datamap ^ bit, old->nodemap);
  std::memcpy(Layout::Children(fresh), Layout::Children(old), children * sizeof(Node*));
  Layout::RelocateExcept(Layout::Entries(fresh, children), old_entries, entries, index);
  std::destroy_at(old_entries + index);
  deallocate_node(old, children, entries);
  *slot = fresh;
  --size_;
}

// The node at `depth` (not the root, no children, two entries) loses the entry at `erased_index`.
// The survivor replaces the child pointer in the nearest ancestor that keeps other content (or
// the root); the ancestors in between only led to it and are freed.
template <class K, class V, class Hash, class Eq, allocators::AllocatorPolicy Alloc,
          NodeSizing Sizing>
void Champ<K, V, Hash, Eq, Alloc, Sizing>::pull_up_survivor(Node** const* path, int depth,
                                                    std::uint64_t hash, unsigned erased_index) {
  Node* leaf = *path[depth];
  // A non-root leaf of two entries and no children (a collision node's datamap is its count).
  HAMT_ASSERT(depth > 0 && erased_index < 2 && leaf->nodemap == 0);
  HAMT_ASSERT(IsCollisionLevel(static_cast<unsigned>(depth) * kBitsPerLevel)
                  ? leaf->datamap == 2
                  : Count(leaf->datamap) == 2);
  EntryT* leaf_entries = Layout::Entries(leaf, 0);
  int target = depth - 1;
  while (target > 0 && (*path[target])->datamap == 0 && Count((*path[target])->nodemap) == 1) {
    --target;
  }
  Node* parent = *path[target];
  const unsigned shift = static_cast<unsigned>(target) * kBitsPerLevel;
  const std::uint32_t bit = FragmentBit(hash, shift);
  HAMT_ASSERT((parent->nodemap & bit) != 0);  // the path leads down through this fragment
  const unsigned children = Count(parent->nodemap);
  const unsigned entries = Count(parent->datamap);
  Node* fresh = allocate_node(parent->datamap | bit, parent->nodemap ^ bit);

  const unsigned child_index = IndexOf(parent->nodemap, bit);
  Node** old_children = Layout::Children(parent);
  Node** fresh_children = Layout::Children(fresh);
  std::memcpy(fresh_children, old_children, child_index * sizeof(Node*));
  std::memcpy(fresh_children + child_index, old_children + child_index + 1,
              (children - child_index - 1) * sizeof(Node*));
  const unsigned entry_index = IndexOf(parent->datamap, bit);
  EntryT* fresh_entries = Layout::Entries(fresh, children - 1);
  Layout::RelocateAround(fresh_entries, Layout::Entries(parent, children), entries, entry_index);
  Layout::Relocate(fresh_entries + entry_index, leaf_entries + (1 - erased_index), 1);
  std::destroy_at(leaf_entries + erased_index);

  // Free bottom-up: each slot lives in the node above it, which must still be alive to read it.
  deallocate_node(leaf, 0, 2);
  for (int d = depth - 1; d > target; --d) deallocate_node(*path[d], 1, 0);
  deallocate_node(parent, children, entries);
  *path[target] = fresh;
  --size_;
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_CHAMP_H_
