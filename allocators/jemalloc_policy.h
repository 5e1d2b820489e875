// allocators/jemalloc_policy.h: jemalloc's non-standard API (mallocx / sdallocx) as a backend,
// loaded privately (private_library.h), so it measures jemalloc whatever serves the process's
// malloc.
//
// Blocks come from jemalloc's automatic arenas through the calling thread's automatic tcache
// (flags 0); frees are sized (sdallocx), which spares jemalloc a size lookup. (mallocx(0) is
// undefined in jemalloc; Counted never asks for 0 bytes.)
// Invariant: nothing is owned by the backend; blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call), plus Counted's counters.
// The process must have started with the static-TLS tunable (private_library.h).
#ifndef HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_

#include <cstddef>

#include "allocators/counted.h"
#include "allocators/private_library.h"

namespace allocators {

class JemallocBackend {
 public:
  static constexpr bool kNeedsStaticTls = true;

  // Throws LibraryLoadError when libjemalloc.so.2 cannot be loaded.
  JemallocBackend() : api_(&Jemalloc()) {}

  void* allocate(std::size_t bytes) noexcept { return api_->mallocx(bytes, 0); }
  void deallocate(void* p, std::size_t bytes) noexcept { api_->sdallocx(p, bytes, 0); }

  const JemallocApi& api() const { return *api_; }

 private:
  const JemallocApi* api_;
};

using JemallocPolicy = Counted<JemallocBackend>;

static_assert(AllocatorPolicy<JemallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_
