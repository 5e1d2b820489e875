// allocators/aligned_alloc_policy.h: C11 aligned_alloc with cache-line (64-byte) alignment as a
// backend: the process's malloc, but every node starts on its own cache line, so that no node
// straddles two lines and no two nodes share one. What that buys the trie (fewer lines touched
// per lookup) and costs it (every block rounded up to a multiple of 64 bytes) is what the
// experiments can now measure.
//
// Invariant: nothing is owned by the backend; blocks may outlive it (free() takes them back).
// Cost: one aligned_alloc/free call (glibc: malloc's slow path for alignments above 16), plus
// Counted's counters.
#ifndef HAMT_ALLOC_ALLOCATORS_ALIGNED_ALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_ALIGNED_ALLOC_POLICY_H_

#include <cstddef>
#include <cstdlib>

#include "allocators/counted.h"

namespace allocators {

struct AlignedAllocBackend {
  static constexpr std::size_t kAlignment = 64;

  // C11 wants a size that is a multiple of the alignment: round up.
  void* allocate(std::size_t bytes) noexcept {
    return std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) & ~(kAlignment - 1));
  }
  void deallocate(void* p, std::size_t) noexcept { std::free(p); }
};

using AlignedAllocPolicy = Counted<AlignedAllocBackend>;

static_assert(AllocatorPolicy<AlignedAllocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_ALIGNED_ALLOC_POLICY_H_
