// allocators/tcmalloc_policy.h: gperftools' tcmalloc (tc_malloc / tc_free_sized) as a policy,
// loaded privately from libtcmalloc_minimal.so.4 (private_library.h), so it measures tcmalloc
// whatever serves the process's malloc.
//
// Blocks come from tcmalloc's per-thread caches; frees are sized (tc_free_sized), which spares
// tcmalloc the page-map lookup of the size class.
// Invariant: nothing is owned by the policy; blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call) plus the counter updates.
#ifndef HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_

#include <cstddef>
#include <new>
#include <utility>

#include "allocators/policy.h"
#include "allocators/private_library.h"
#include "allocators/stats.h"

namespace allocators {

class TcmallocPolicy {
 public:
  // Throws LibraryLoadError when libtcmalloc_minimal.so.4 cannot be loaded.
  TcmallocPolicy() : api_(&Tcmalloc()) {}
  // Telemetry belongs to one owner: moving transfers it, copying would double-count.
  TcmallocPolicy(TcmallocPolicy&& other) noexcept
      : api_(other.api_), stats_(std::exchange(other.stats_, {})) {}
  TcmallocPolicy& operator=(TcmallocPolicy&& other) noexcept {
    api_ = other.api_;
    stats_ = std::exchange(other.stats_, {});
    return *this;
  }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = api_->tc_malloc(bytes == 0 ? 1 : bytes);
    if (p == nullptr) [[unlikely]] throw std::bad_alloc();
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    api_->tc_free_sized(p, bytes == 0 ? 1 : bytes);
  }

  const AllocStats& stats() const { return stats_; }
  const TcmallocApi& api() const { return *api_; }

 private:
  const TcmallocApi* api_;
  AllocStats stats_;
};

static_assert(AllocatorPolicy<TcmallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_TCMALLOC_POLICY_H_
