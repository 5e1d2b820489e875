// experiments/common/stable_hash.h: a hash whose values do not change from one process to the next.
//
// absl::Hash mixes in a per-process seed (an address, so ASLR changes it), which changes the trie's
// shape and so the exact allocation counts between runs. The pool-exhaustion study promises
// identical counts run after run, so it hashes with MurmurHash3's 64-bit finalizer instead: a
// bijection on 64 bits with full avalanche, so sequential keys spread over every level of the trie.
//
// An optional seed picks another trie for the same keys, so that a measurement can be averaged over
// tries (the demand model predicts the mean): the key is offset by the finalizer of the seed before
// it is finalized itself. fmix64(0) = 0, so seed 0 (the default) gives exactly the unseeded values,
// and every seed is still a bijection on the keys.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_

#include <cstddef>
#include <cstdint>

namespace experiments {

// MurmurHash3's 64-bit finalizer (fmix64).
constexpr std::uint64_t Fmix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

struct StableHash {
  std::uint64_t seed = 0;

  std::size_t operator()(std::int64_t key) const {
    return static_cast<std::size_t>(Fmix64(static_cast<std::uint64_t>(key) + Fmix64(seed)));
  }
};

static_assert(Fmix64(0) == 0, "seed 0 must leave the key unchanged");

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_STABLE_HASH_H_
