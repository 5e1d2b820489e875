// hamt/node_sizing.h: how many bytes a node of the trie asks its allocator for.
//
// A node of c children and e entries needs NodeLayout::Bytes(c, e) bytes (internal/node.h). The
// map's last template parameter decides what it allocates for them:
//
//   hamt::ExactNodes        exactly those bytes: the reference study's design and the default.
//                           Every insert and erase reallocates its node, so every operation is
//                           allocator traffic; memory is the minimum (~21 bytes per int64 entry).
//   hamt::RoundedNodes<S>   those bytes rounded up to a size class, S classes per doubling
//                           (S = 1: powers of two; S = 4: four steps per doubling, as the large
//                           classes of jemalloc and mimalloc). Adding an entry to a node, or
//                           removing one, happens in place when the node's class does not change,
//                           with no allocator call; changes of shape (a key pushed down into a new
//                           sub-node, a survivor pulled up, collision nodes) always reallocate.
//                           Fewer allocations per insert, more bytes per entry: that trade is a
//                           variable to measure.
//
// A sizing is a class with `static constexpr std::size_t Capacity(std::size_t bytes)`, returning at
// least `bytes` and monotone in `bytes` (RoundedNodes: a multiple of 8). The node's size is not
// stored: it is recomputed from the node's popcounts, so deallocate() always gets what allocate()
// was given.
#ifndef HAMT_ALLOC_HAMT_NODE_SIZING_H_
#define HAMT_ALLOC_HAMT_NODE_SIZING_H_

#include <bit>
#include <concepts>
#include <cstddef>

namespace hamt {

template <class S>
concept NodeSizing = requires(std::size_t bytes) {
  { S::Capacity(bytes) } -> std::same_as<std::size_t>;
};

struct ExactNodes {
  static constexpr std::size_t Capacity(std::size_t bytes) { return bytes; }
};

template <unsigned ClassesPerDoubling>
struct RoundedNodes {
  static_assert(std::has_single_bit(ClassesPerDoubling) && ClassesPerDoubling <= 8,
                "1, 2, 4 or 8 size classes per doubling");

  static constexpr std::size_t Capacity(std::size_t bytes) {
    // Up to 8 * S bytes every multiple of 8 is a class; above, 2^k < bytes <= 2^(k+1) is cut
    // into S classes of 2^k / S bytes.
    if (bytes <= 8 * ClassesPerDoubling) return (bytes + 7) / 8 * 8;
    const std::size_t base = std::size_t{1} << (std::bit_width(bytes - 1) - 1);
    const std::size_t step = base / ClassesPerDoubling;
    return (bytes + step - 1) / step * step;
  }
};

static_assert(NodeSizing<ExactNodes> && NodeSizing<RoundedNodes<1>>);
static_assert(RoundedNodes<1>::Capacity(168) == 256 && RoundedNodes<1>::Capacity(128) == 128);
static_assert(RoundedNodes<1>::Capacity(24) == 32 && RoundedNodes<1>::Capacity(8) == 8);
static_assert(RoundedNodes<4>::Capacity(168) == 192 && RoundedNodes<4>::Capacity(24) == 24);
static_assert(RoundedNodes<4>::Capacity(40) == 40 && RoundedNodes<4>::Capacity(264) == 320);

}  // namespace hamt

#endif  // HAMT_ALLOC_HAMT_NODE_SIZING_H_
