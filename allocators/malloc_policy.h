// allocators/malloc_policy.h: the process's malloc/free as a policy (glibc in a plain binary).
//
// Whatever serves `malloc` in this process serves this policy: in a binary linked with mimalloc,
// jemalloc or tcmalloc that is not glibc. process_malloc.h tells which it is at run time.
// Cost: one malloc/free call plus five counter updates.
#ifndef HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_

#include <cstddef>
#include <cstdlib>
#include <new>

#include "allocators/policy.h"
#include "allocators/stats.h"

namespace allocators {

class MallocPolicy {
 public:
  MallocPolicy() = default;
  // Telemetry belongs to one owner: moving transfers it, copying would double-count.
  MallocPolicy(MallocPolicy&& other) noexcept : stats_(other.stats_) { other.stats_ = {}; }
  MallocPolicy& operator=(MallocPolicy&& other) noexcept {
    stats_ = other.stats_;
    other.stats_ = {};
    return *this;
  }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (p == nullptr) [[unlikely]] throw std::bad_alloc();
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    std::free(p);
  }

  const AllocStats& stats() const { return stats_; }

 private:
  AllocStats stats_;
};

static_assert(AllocatorPolicy<MallocPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_MALLOC_POLICY_H_
