// model/layout.h: the node-layout parameters that the demand model reads instead of the trie's
// code.
//
// The model knows the trie only through these numbers (hamt/internal/node.h is the layout they
// describe by default): a hash of `hash_bits` bits consumed `bits_per_level` bits per level, so
// bitmap levels sit at shifts 0, b, 2b, ... and the last one sees only the bits that are left
// (64 bits at 5 per level: 12 full levels, a 13th of 4 bits at shift 60, then collision nodes that
// hold every key sharing all 64 bits). A node of c children and e entries is one exactly-sized
// block of header + c * child + e * entry bytes (a collision node: 0 children, e entries), and a
// pool counts it in ceil(bytes / slot) slots.
//
// Defaults: hamt::Map<int64_t, int64_t> (16-byte entries) over the study's 8-byte slots.
#ifndef HAMT_ALLOC_MODEL_LAYOUT_H_
#define HAMT_ALLOC_MODEL_LAYOUT_H_

#include <cstdint>
#include <string>

namespace model {

struct Layout {
  unsigned bits_per_level = 5;     // 1..6: a node has up to 2^bits_per_level fragments
  unsigned hash_bits = 64;         // 1..64
  std::uint64_t header_bytes = 8;  // datamap + nodemap
  std::uint64_t child_bytes = 8;   // one child pointer
  std::uint64_t entry_bytes = 16;  // one key/value pair
  std::uint64_t slot_bytes = 8;    // the pool's unit

  // Levels with bitmap nodes: ceil(hash_bits / bits_per_level). Depth BitmapLevels() holds the
  // collision nodes.
  unsigned BitmapLevels() const { return (hash_bits + bits_per_level - 1) / bits_per_level; }

  // Hash bits the node at `depth` (< BitmapLevels()) dispatches on: bits_per_level, except for a
  // last level that sees only what is left.
  unsigned FragmentBits(unsigned depth) const {
    const unsigned used = depth * bits_per_level;
    return hash_bits - used < bits_per_level ? hash_bits - used : bits_per_level;
  }

  // Fragments of the node at `depth` (< BitmapLevels()).
  unsigned Cells(unsigned depth) const { return 1u << FragmentBits(depth); }

  // Hash bits that all keys below a node at `depth` share: min(depth * bits_per_level, hash_bits).
  unsigned PrefixBits(unsigned depth) const {
    const unsigned used = depth * bits_per_level;
    return used < hash_bits ? used : hash_bits;
  }

  std::uint64_t NodeBytes(std::uint64_t children, std::uint64_t entries) const {
    return header_bytes + children * child_bytes + entries * entry_bytes;
  }
  std::uint64_t NodeSlots(std::uint64_t children, std::uint64_t entries) const {
    return (NodeBytes(children, entries) + slot_bytes - 1) / slot_bytes;
  }

  // Empty when the model can use this layout; otherwise what is wrong with it.
  std::string Check() const;

  friend bool operator==(const Layout&, const Layout&) = default;
};

}  // namespace model

#endif  // HAMT_ALLOC_MODEL_LAYOUT_H_
