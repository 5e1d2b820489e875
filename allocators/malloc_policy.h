// allocators/malloc_policy.h: the process's malloc/free as a backend, and MallocPolicy, the
// default policy of hamt::Map (glibc in a plain binary).
//
// Whatever serves `malloc` in this process serves this backend: in a binary linked with mimalloc,
// jemalloc or tcmalloc that is not glibc. process_malloc.h tells which it is at run time.
// Invariant: nothing is owned by the backend; blocks may outlive it.
// Cost: one malloc/free call (plus Counted's counter updates).
#ifndef HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_

#include <cstddef>
#include <cstdlib>

#include "allocators/counted.h"

namespace allocators {

struct MallocBackend {
  // malloc(bytes); nullptr when the process is out of memory.
  void* allocate(std::size_t bytes) noexcept { return std::malloc(bytes); }
  // free(p): malloc keeps the size itself.
  void deallocate(void* p, std::size_t) noexcept { std::free(p); }
};

using MallocPolicy = Counted<MallocBackend>;

static_assert(AllocatorPolicy<MallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_
