// allocators/mimalloc_policy.h: mimalloc's mi_malloc/mi_free as a backend, loaded privately
// (private_library.h), so it measures mimalloc's API whatever serves the process's malloc.
//
// Blocks come from mimalloc's thread-local default heap; frees go to mi_free (mimalloc finds the
// size from the block's page, and its mi_free_size is only an assertion plus mi_free in a release
// build, so it is not used).
// Invariant: nothing is owned by the backend; blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call), plus Counted's counters.
#ifndef HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_

#include <cstddef>

#include "allocators/counted.h"
#include "allocators/private_library.h"

namespace allocators {

class MimallocBackend {
 public:
  // Throws LibraryLoadError when libmimalloc.so.2 cannot be loaded.
  MimallocBackend() : api_(&Mimalloc()) {}

  void* allocate(std::size_t bytes) noexcept { return api_->mi_malloc(bytes); }
  void deallocate(void* p, std::size_t) noexcept { api_->mi_free(p); }

  const MimallocApi& api() const { return *api_; }

 private:
  const MimallocApi* api_;
};

using MimallocPolicy = Counted<MimallocBackend>;

static_assert(AllocatorPolicy<MimallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_
