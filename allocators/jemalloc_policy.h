// allocators/jemalloc_policy.h: jemalloc's non-standard API (mallocx / sdallocx) as a policy,
// loaded privately (private_library.h), so it measures jemalloc whatever serves the process's
// malloc.
//
// Blocks come from jemalloc's automatic arenas through the calling thread's automatic tcache
// (flags 0); frees are sized (sdallocx), which spares jemalloc a size lookup.
// Invariant: nothing is owned by the policy; blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call) plus the counter updates.
// The process must have started with the static-TLS tunable (private_library.h).
#ifndef HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_

#include <cstddef>
#include <new>
#include <utility>

#include "allocators/policy.h"
#include "allocators/private_library.h"
#include "allocators/stats.h"

namespace allocators {

class JemallocPolicy {
 public:
  // Throws LibraryLoadError when libjemalloc.so.2 cannot be loaded.
  JemallocPolicy() : api_(&Jemalloc()) {}
  // Telemetry belongs to one owner: moving transfers it, copying would double-count.
  JemallocPolicy(JemallocPolicy&& other) noexcept
      : api_(other.api_), stats_(std::exchange(other.stats_, {})) {}
  JemallocPolicy& operator=(JemallocPolicy&& other) noexcept {
    api_ = other.api_;
    stats_ = std::exchange(other.stats_, {});
    return *this;
  }

  // mallocx(0) is undefined in jemalloc, so a 0-byte request asks for 1 (and frees 1).
  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = api_->mallocx(bytes == 0 ? 1 : bytes, 0);
    if (p == nullptr) [[unlikely]] throw std::bad_alloc();
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    api_->sdallocx(p, bytes == 0 ? 1 : bytes, 0);
  }

  const AllocStats& stats() const { return stats_; }
  const JemallocApi& api() const { return *api_; }

 private:
  const JemallocApi* api_;
  AllocStats stats_;
};

static_assert(AllocatorPolicy<JemallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_JEMALLOC_POLICY_H_
