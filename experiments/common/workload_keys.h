// experiments/common/workload_keys.h: the keys and values the experiments' workloads put in the
// map, defined once, so that a workload recorded as a trace (experiments/replay/) inserts exactly
// what the live experiment inserts.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_WORKLOAD_KEYS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_WORKLOAD_KEYS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace experiments {

// The pool-exhaustion study's value for key i (the reference study's i * 10).
constexpr std::int64_t StudyValue(std::int64_t key) { return key * 10; }

// The allocator matrix's value for a key (+1 so that no value equals its key's study value).
constexpr std::int64_t MatrixValue(std::int64_t key) { return key * 10 + 1; }

// The allocator matrix's key order: a permutation of 0..n-1, fixed for each n (mt19937_64 seeded
// with 0x5eed + n), the same in every process.
inline std::vector<std::int64_t> ShuffledKeys(std::size_t n) {
  std::vector<std::int64_t> keys(n);
  std::iota(keys.begin(), keys.end(), std::int64_t{0});
  std::mt19937_64 rng(0x5eed + n);
  std::shuffle(keys.begin(), keys.end(), rng);
  return keys;
}

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_WORKLOAD_KEYS_H_
