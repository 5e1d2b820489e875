// experiments/common/stable_hash.h: a hash whose values do not change from one process to the next.
//
// absl::Hash mixes in a per-process seed (an address, so ASLR changes it), which changes the trie's
// shape and so the exact allocation counts between runs. The pool-exhaustion study promises
// identical counts run after run, so it hashes with MurmurHash3's 64-bit finalizer instead: a
// bijection on 64 bits with full avalanche, so sequential keys spread over every level of the trie.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_

#include <cstddef>
#include <cstdint>

namespace experiments {

struct StableHash {
  // Varies the trie's shape between runs on purpose (the same seed, the same counts). Seed 0 is
  // the plain finalizer, so results measured before seeds existed are unchanged.
  std::uint64_t seed = 0;

  std::size_t operator()(std::int64_t key) const {
    auto x = static_cast<std::uint64_t>(key) ^ (seed * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x);
  }
};

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_
