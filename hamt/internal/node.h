// hamt/internal/node.h: the memory layout of one CHAMP node and the helpers that read it, shared
// by hamt::Map (internal/champ.h) and hamt::PersistentMap (internal/persistent_champ.h).
//
// A node is one exactly-sized block from the allocator policy:
//
//   offset 0   uint32 datamap    bit f set: hash fragment f holds an inline entry
//   offset 4   uint32 nodemap    bit f set: hash fragment f holds a child node
//   [offset 8  RefCount refs, padded to 8 bytes: SharedNode only]
//   then       Node*  children[popcount(nodemap)]              in fragment order
//   then       Entry  entries[popcount(datamap)]               in fragment order
//
// The header is a parameter of the layout (NodeLayout<Entry, Header>): hamt::Map's `Node` is the
// two bitmaps alone (8 bytes); hamt::PersistentMap's `SharedNode<RefCount>` adds the reference
// count that structural sharing needs (16 bytes). Everything after the header is the same.
//
// There is no size field or type tag: counts are popcounts, and whether a node is a bitmap node
// or a collision node follows from its depth. A collision node sits below the last bitmap level
// (all 64 hash bits consumed); its datamap holds the entry count, its nodemap is 0, and its
// entries (all with the same 64-bit hash) are unordered. Children come before entries so that
// both arrays are aligned without padding (alignof(Entry) <= 8 == alignof(Node*)).
#ifndef HAMT_ALLOC_HAMT_INTERNAL_NODE_H_
#define HAMT_ALLOC_HAMT_INTERNAL_NODE_H_

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "allocators/assert.h"

namespace hamt::internal {

inline constexpr unsigned kBitsPerLevel = 5;
inline constexpr unsigned kHashBits = 64;
inline constexpr std::uint64_t kFragmentMask = (1u << kBitsPerLevel) - 1;
// Bitmap levels use shifts 0, 5, ..., 60 (the last one sees only 4 bits); the 14th level, at
// shift 65, is made of collision nodes.
inline constexpr unsigned kBitmapLevels = (kHashBits + kBitsPerLevel - 1) / kBitsPerLevel;
inline constexpr int kMaxDepth = kBitmapLevels + 1;

// A key/value pair as stored in a node; `first`/`second` like std::pair so that structured
// bindings and generic `it->first` code work the same as on the baseline hash maps.
template <class K, class V>
struct Entry {
  using first_type = K;
  using second_type = V;

  template <class KeyArg, class... ValueArgs>
  explicit Entry(KeyArg&& key, ValueArgs&&... value_args)
      : first(std::forward<KeyArg>(key)), second(std::forward<ValueArgs>(value_args)...) {}

  K first;
  V second;
};

struct Node {
  std::uint32_t datamap;  // collision nodes: the entry count
  std::uint32_t nodemap;  // collision nodes: 0
};
static_assert(sizeof(Node) == 8);

// The header of a node that versions share (hamt::PersistentMap): the bitmaps, then the number
// of references to the node (parents and version roots), padded so that the child pointers after
// it stay 8-byte aligned. RefCount is a refcount policy (hamt/refcount.h).
template <class RefCount>
struct alignas(8) SharedNode {
  SharedNode(std::uint32_t datamap_in, std::uint32_t nodemap_in)
      : datamap(datamap_in), nodemap(nodemap_in), refs(1) {}

  std::uint32_t datamap;  // collision nodes: the entry count
  std::uint32_t nodemap;  // collision nodes: 0
  RefCount refs;
};

// What a layout needs of a header: the two bitmaps first, a size that keeps the pointer array
// after it aligned.
template <class H>
concept NodeHeader = requires(H& header) {
  { header.datamap } -> std::convertible_to<std::uint32_t>;
  { header.nodemap } -> std::convertible_to<std::uint32_t>;
} && sizeof(H) % alignof(void*) == 0 && alignof(H) <= alignof(void*);
static_assert(NodeHeader<Node>);

constexpr bool IsCollisionLevel(unsigned shift) { return shift >= kHashBits; }

// The bit of `hash`'s fragment at `shift` (a bitmap level).
inline std::uint32_t FragmentBit(std::uint64_t hash, unsigned shift) {
  return std::uint32_t{1} << ((hash >> shift) & kFragmentMask);
}

// Position of `bit` among the set bits of `bitmap`: the array index of that fragment.
inline unsigned IndexOf(std::uint32_t bitmap, std::uint32_t bit) {
  HAMT_ASSERT(std::has_single_bit(bit));
  return static_cast<unsigned>(std::popcount(bitmap & (bit - 1)));
}

inline unsigned Count(std::uint32_t bitmap) { return static_cast<unsigned>(std::popcount(bitmap)); }

template <class EntryT, NodeHeader NodeT = Node>
struct NodeLayout {
  static_assert(alignof(EntryT) <= alignof(NodeT*), "policies only guarantee 8-byte alignment");

  using NodeType = NodeT;
  using EntryType = EntryT;

  // Bytes of a node with `children` child pointers and `entries` entries: what allocate() gets
  // and what deallocate() must be given back.
  static constexpr std::size_t Bytes(std::size_t children, std::size_t entries) {
    return sizeof(NodeT) + children * sizeof(NodeT*) + entries * sizeof(EntryT);
  }

  static NodeT** Children(NodeT* node) { return reinterpret_cast<NodeT**>(node + 1); }
  static NodeT* const* Children(const NodeT* node) {
    return reinterpret_cast<NodeT* const*>(node + 1);
  }
  static EntryT* Entries(NodeT* node, unsigned children) {
    return reinterpret_cast<EntryT*>(Children(node) + children);
  }
  static const EntryT* Entries(const NodeT* node, unsigned children) {
    return reinterpret_cast<const EntryT*>(Children(node) + children);
  }

  // Moves `n` entries from `src` to uninitialized `dst` and ends the lifetime of the sources.
  // Trivially copyable entries (int64 -> int64) take one memcpy.
  static void Relocate(EntryT* dst, EntryT* src, std::size_t n) noexcept {
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      if (n != 0) std::memcpy(static_cast<void*>(dst), src, n * sizeof(EntryT));
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        std::construct_at(dst + i, std::move(src[i]));
        std::destroy_at(src + i);
      }
    }
  }

  // Relocates the `n` entries of `src` except the one at `skip` into `dst` (n - 1 entries).
  static void RelocateExcept(EntryT* dst, EntryT* src, std::size_t n, std::size_t skip) noexcept {
    Relocate(dst, src, skip);
    Relocate(dst + skip, src + skip + 1, n - skip - 1);
  }

  // Relocates the `n` entries of `src` into `dst` leaving a hole at `gap` (n + 1 slots).
  static void RelocateAround(EntryT* dst, EntryT* src, std::size_t n, std::size_t gap) noexcept {
    Relocate(dst, src, gap);
    Relocate(dst + gap + 1, src + gap, n - gap);
  }

  // Copy-constructs `n` entries from `src` into uninitialized `dst`; the sources stay (a node
  // shared with another version). All or nothing: if a copy throws, the copies made so far are
  // destroyed before the exception propagates.
  static void Copy(EntryT* dst, const EntryT* src, std::size_t n) {
    if constexpr (std::is_trivially_copyable_v<EntryT>) {
      if (n != 0) std::memcpy(static_cast<void*>(dst), src, n * sizeof(EntryT));
    } else {
      std::size_t i = 0;
      try {
        for (; i < n; ++i) std::construct_at(dst + i, src[i]);
      } catch (...) {
        std::destroy_n(dst, i);
        throw;
      }
    }
  }

  // Copies the `n` entries of `src` except the one at `skip` into `dst` (n - 1 entries); all or
  // nothing.
  static void CopyExcept(EntryT* dst, const EntryT* src, std::size_t n, std::size_t skip) {
    Copy(dst, src, skip);
    try {
      Copy(dst + skip, src + skip + 1, n - skip - 1);
    } catch (...) {
      std::destroy_n(dst, skip);
      throw;
    }
  }

  // Copies the `n` entries of `src` into `dst` leaving a hole at `gap` (n + 1 slots); all or
  // nothing.
  static void CopyAround(EntryT* dst, const EntryT* src, std::size_t n, std::size_t gap) {
    Copy(dst, src, gap);
    try {
      Copy(dst + gap + 1, src + gap, n - gap);
    } catch (...) {
      std::destroy_n(dst, gap);
      throw;
    }
  }
};

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_NODE_H_
