// experiments/common/study_map.h: the map every experiment builds (and its persistent twin): int64 keys and values, hashed
// with StableHash (the same trie in every run and process, unlike absl::Hash), over any policy.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_STUDY_MAP_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_STUDY_MAP_H_

#include <cstdint>
#include <functional>

#include "experiments/common/stable_hash.h"
#include "hamt/hamt.h"
#include "hamt/persistent_map.h"

namespace experiments {

template <class Alloc>
using StudyMap =
    hamt::Map<std::int64_t, std::int64_t, StableHash, std::equal_to<std::int64_t>, Alloc>;

// The same keys, values and hash in a persistent map (versions sharing structure).
template <class Alloc>
using PersistentStudyMap = hamt::PersistentMap<std::int64_t, std::int64_t, StableHash,
                                               std::equal_to<std::int64_t>, Alloc>;

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_STUDY_MAP_H_
