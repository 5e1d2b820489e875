// hamt/testing_hashes.h: hash functions for the tests: reproducible (the same in every process),
// and ones that force the trie's rare shapes.
#ifndef HAMT_ALLOC_HAMT_TESTING_HASHES_H_
#define HAMT_ALLOC_HAMT_TESTING_HASHES_H_

#include <cstddef>
#include <cstdint>

namespace hamt::testing {

// splitmix64's finalizer: well mixed like absl::Hash, but the same in every process (absl::Hash is
// seeded per process), so a test's trie shapes and allocation sequences depend on the code alone.
struct SplitMixHash {
  std::size_t operator()(std::int64_t key) const {
    std::uint64_t x = static_cast<std::uint64_t>(key) + 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
  }
};
// SplitMixHash's low 16 bits: among a few thousand keys, hundreds of full-hash collisions, each
// under a chain of single-child nodes (levels 4 to 12 see fragment 0) ending in a collision node.
struct SplitMixLow16Hash {
  std::size_t operator()(std::int64_t key) const { return SplitMixHash()(key) & 0xffff; }
};

// Key k lands in fragment k % 32 of the root: small keys never make a sub-node.
struct IdentityHash {
  std::size_t operator()(std::int64_t key) const { return static_cast<std::size_t>(key); }
};
// Every key collides: one chain of single-child nodes down to one collision node.
struct ConstantHash {
  std::size_t operator()(std::int64_t) const { return 0x9e3779b97f4a7c15u; }
};
// Only the top 12 bits vary: the first 10 levels see one fragment, so chains of single-child
// nodes form, then collisions once more than 4096 keys are live.
struct HighBitsHash {
  std::size_t operator()(std::int64_t key) const { return SplitMixHash()(key) << 52; }
};
// Only the low 8 bits vary: two bitmap levels, then deep chains down to collision nodes.
struct LowBitsHash {
  std::size_t operator()(std::int64_t key) const { return SplitMixHash()(key) & 0xff; }
};

}  // namespace hamt::testing

#endif  // HAMT_ALLOC_HAMT_TESTING_HASHES_H_
