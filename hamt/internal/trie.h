// hamt/internal/trie.h: the read-only algorithms over a CHAMP trie, written once for every node
// header (node.h): lookup, depth-first iteration and the structural invariant check. hamt::Map
// (champ.h) and hamt::PersistentMap (persistent_champ.h) both call these; only the ways they
// change a trie differ (in place, or by copying paths that other versions share).
//
// Each function takes the layout (NodeLayout<Entry, Header>) as its first template argument and
// the root (nullptr: the empty trie).
//
// Cost model: FindValue hashes once, then per level two bitmap tests and one popcount, and one
// key comparison at the end (a collision node: a linear scan, out of line). Iteration allocates
// nothing: an explicit stack of at most kMaxDepth frames. CheckTrie visits every node and
// rehashes every key: for tests.
#ifndef HAMT_ALLOC_HAMT_INTERNAL_TRIE_H_
#define HAMT_ALLOC_HAMT_INTERNAL_TRIE_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

#include "hamt/internal/node.h"

namespace hamt::internal {

// Linear search of a collision node (all 64 hash bits consumed); kept out of FindValue's loop.
template <class Layout, class K, class Eq>
[[gnu::noinline]] const typename Layout::EntryType::second_type* FindInCollision(
    const typename Layout::NodeType* node, const K& key, const Eq& eq) {
  const auto* entries = Layout::Entries(node, 0);
  for (std::uint32_t i = 0; i < node->datamap; ++i) {
    if (eq(entries[i].first, key)) return &entries[i].second;
  }
  return nullptr;
}

// The value of `key` (whose hash is `hash`) in the trie under `node`, or nullptr.
// PRECONDITION: node != nullptr.
template <class Layout, class K, class Eq>
inline const typename Layout::EntryType::second_type* FindValue(
    const typename Layout::NodeType* node, std::uint64_t hash, const K& key, const Eq& eq) {
  // `h` holds the hash bits not yet consumed: the fragment at each level is its low 5 bits.
  std::uint64_t h = hash;
  for (unsigned level = 0; level < kBitmapLevels; ++level, h >>= kBitsPerLevel) {
    const std::uint32_t bit = std::uint32_t{1} << (h & kFragmentMask);
    const std::uint32_t datamap = node->datamap;
    const std::uint32_t nodemap = node->nodemap;
    if (datamap & bit) {
      const auto& entry = Layout::Entries(node, Count(nodemap))[IndexOf(datamap, bit)];
      return eq(entry.first, key) ? &entry.second : nullptr;
    }
    if (!(nodemap & bit)) return nullptr;
    node = Layout::Children(node)[IndexOf(nodemap, bit)];
  }
  return FindInCollision<Layout>(node, key, eq);
}

// Depth-first iteration with an explicit stack of (node, next child): no allocation, at most
// kMaxDepth frames. A hamt::Map's iterator is invalidated by any insert or erase; a
// hamt::PersistentMap's lives as long as its version.
template <class Layout>
class TrieIterator {
  using NodeT = typename Layout::NodeType;

 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = typename Layout::EntryType;
  using difference_type = std::ptrdiff_t;
  using reference = const value_type&;
  using pointer = const value_type*;

  TrieIterator() = default;
  // The first entry of the trie under `root` (nullptr: end).
  explicit TrieIterator(const NodeT* root) {
    if (root == nullptr) return;
    enter(root, 0);
    if (current_ == entries_end_) next_node_with_entries();
  }

  reference operator*() const { return *current_; }
  pointer operator->() const { return current_; }

  TrieIterator& operator++() {
    if (++current_ == entries_end_) next_node_with_entries();
    return *this;
  }
  TrieIterator operator++(int) {
    TrieIterator before = *this;
    ++*this;
    return before;
  }

  friend bool operator==(const TrieIterator& a, const TrieIterator& b) {
    return a.current_ == b.current_;
  }

 private:
  struct Frame {
    const NodeT* node;
    unsigned next_child;
    unsigned children;
  };

  void enter(const NodeT* node, int depth) {
    const unsigned shift = static_cast<unsigned>(depth) * kBitsPerLevel;
    const bool collision = IsCollisionLevel(shift);
    const unsigned children = collision ? 0 : Count(node->nodemap);
    const unsigned entries = collision ? node->datamap : Count(node->datamap);
    depth_ = depth;
    stack_[depth] = Frame{node, 0, children};
    current_ = Layout::Entries(node, children);
    entries_end_ = current_ + entries;
  }

  // The current node's entries are done: continue depth-first to the next node that has some.
  void next_node_with_entries() {
    while (depth_ >= 0) {
      Frame& frame = stack_[depth_];
      if (frame.next_child < frame.children) {
        enter(Layout::Children(frame.node)[frame.next_child++], depth_ + 1);
        if (current_ != entries_end_) return;
      } else {
        --depth_;
      }
    }
    current_ = nullptr;
  }

  const value_type* current_ = nullptr;
  const value_type* entries_end_ = nullptr;
  int depth_ = -1;
  Frame stack_[kMaxDepth];
};

namespace trie_internal {

// `prefix`: the low `shift` bits that every hash below `node` must have.
template <class Layout, class HashOf, class Eq, class CheckHeader>
void CheckNode(const typename Layout::NodeType* node, unsigned shift, std::uint64_t prefix,
               const HashOf& hash_of, const Eq& eq, const CheckHeader& check_header,
               std::size_t& count, std::string& error) {
  if (!error.empty()) return;
  auto where = [shift] { return " (node at shift " + std::to_string(shift) + ")"; };
  check_header(*node, error);
  if (!error.empty()) {
    error += where();
    return;
  }
  if (IsCollisionLevel(shift)) {
    if (node->nodemap != 0) error = "collision node with a nodemap" + where();
    if (node->datamap < 2) error = "collision node with fewer than 2 entries" + where();
    const auto* entries = Layout::Entries(node, 0);
    for (std::uint32_t i = 0; i < node->datamap && error.empty(); ++i) {
      if (hash_of(entries[i].first) != prefix) {
        error = "collision entry with a foreign hash" + where();
      }
      for (std::uint32_t j = 0; j < i; ++j) {
        if (eq(entries[i].first, entries[j].first)) error = "duplicate key in collision node";
      }
    }
    count += node->datamap;
    return;
  }
  if (node->datamap & node->nodemap) {
    error = "datamap and nodemap overlap" + where();
    return;
  }
  const unsigned children = Count(node->nodemap);
  const unsigned entries = Count(node->datamap);
  if (shift > 0 && children == 0 && entries < 2) {
    error = "non-canonical sub-node with " + std::to_string(entries) + " entries and no children" +
            where();
    return;
  }
  const std::uint64_t prefix_mask = (std::uint64_t{1} << shift) - 1;  // shift <= 60 here
  const auto* entry = Layout::Entries(node, children);
  for (unsigned fragment = 0; fragment < 32; ++fragment) {
    const std::uint32_t bit = std::uint32_t{1} << fragment;
    if (!(node->datamap & bit)) continue;
    const std::uint64_t hash = hash_of(entry->first);
    if ((hash & prefix_mask) != prefix || FragmentBit(hash, shift) != bit) {
      error = "entry stored under the wrong hash fragment" + where();
      return;
    }
    ++entry;
  }
  count += entries;
  const auto* child = Layout::Children(node);
  for (unsigned fragment = 0; fragment < 32; ++fragment) {
    if (!(node->nodemap & (std::uint32_t{1} << fragment))) continue;
    if (*child == nullptr) {
      error = "null child pointer" + where();
      return;
    }
    CheckNode<Layout>(*child, shift + kBitsPerLevel, prefix | (std::uint64_t{fragment} << shift),
                      hash_of, eq, check_header, count, error);
    ++child;
  }
}

}  // namespace trie_internal

// Verifies bitmaps, hash prefixes, canonical form, collision nodes and that the trie holds `size`
// entries; check_header(const Node&, std::string& error) adds the header's own checks (a
// reference count). Returns an empty string when the trie is sound, else a description of the
// first violation.
template <class Layout, class HashOf, class Eq, class CheckHeader>
std::string CheckTrie(const typename Layout::NodeType* root, std::size_t size,
                      const HashOf& hash_of, const Eq& eq, const CheckHeader& check_header) {
  std::string error;
  std::size_t count = 0;
  if (root != nullptr) {
    trie_internal::CheckNode<Layout>(root, 0, 0, hash_of, eq, check_header, count, error);
    if (error.empty() && count == 0) error = "root node without entries or children";
  }
  if (error.empty() && count != size) {
    error = "size() is " + std::to_string(size) + " but the trie holds " + std::to_string(count);
  }
  return error;
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_TRIE_H_
