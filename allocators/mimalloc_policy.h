// allocators/mimalloc_policy.h: mimalloc's mi_malloc/mi_free as a policy, loaded privately
// (private_library.h), so it measures mimalloc's API whatever serves the process's malloc.
//
// Blocks come from mimalloc's thread-local default heap; frees go to mi_free (mi_free_size is
// only an assertion plus mi_free in a release build of mimalloc, so calling it would add a hop).
// Invariant: every block handed out is live in mimalloc until deallocate(); nothing is owned by the
// policy itself, so blocks may outlive it.
// Cost: one indirect call each way (as for any shared-library call) plus the counter updates.
#ifndef HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_

#include <cstddef>
#include <new>
#include <utility>

#include "allocators/policy.h"
#include "allocators/private_library.h"
#include "allocators/stats.h"

namespace allocators {

class MimallocPolicy {
 public:
  // Throws LibraryLoadError when libmimalloc.so.2 cannot be loaded.
  MimallocPolicy() : api_(&Mimalloc()) {}
  // Telemetry belongs to one owner: moving transfers it, copying would double-count.
  MimallocPolicy(MimallocPolicy&& other) noexcept
      : api_(other.api_), stats_(std::exchange(other.stats_, {})) {}
  MimallocPolicy& operator=(MimallocPolicy&& other) noexcept {
    api_ = other.api_;
    stats_ = std::exchange(other.stats_, {});
    return *this;
  }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = api_->mi_malloc(bytes == 0 ? 1 : bytes);
    if (p == nullptr) [[unlikely]] throw std::bad_alloc();
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    api_->mi_free(p);
  }

  const AllocStats& stats() const { return stats_; }
  const MimallocApi& api() const { return *api_; }

 private:
  const MimallocApi* api_;
  AllocStats stats_;
};

static_assert(AllocatorPolicy<MimallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_MIMALLOC_POLICY_H_
