// allocators/tcmalloc_policy.h: gperftools' tcmalloc (tc_malloc / tc_free_sized) as a backend,
// loaded privately from libtcmalloc_minimal.so.4 (private_library.h), so it measures tcmalloc
// whatever serves the process's malloc.
//
// Blocks come from tcmalloc's per-thread caches; frees are sized (tc_free_sized), which spares
// tcmalloc the page-map lookup of the size class.
// Invariant: nothing is owned by the backend; blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call), plus Counted's counters.
#ifndef HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_

#include <cstddef>

#include "allocators/counted.h"
#include "allocators/private_library.h"

namespace allocators {

class TcmallocBackend {
 public:
  // Throws LibraryLoadError when libtcmalloc_minimal.so.4 cannot be loaded.
  TcmallocBackend() : api_(&Tcmalloc()) {}

  void* allocate(std::size_t bytes) noexcept { return api_->tc_malloc(bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept { api_->tc_free_sized(p, bytes); }

  const TcmallocApi& api() const { return *api_; }

 private:
  const TcmallocApi* api_;
};

using TcmallocPolicy = Counted<TcmallocBackend>;

static_assert(AllocatorPolicy<TcmallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_
