// allocators/bump_pool.h: the reference study's bump allocator, a fixed slot pool that falls back
// to malloc when exhausted.
//
// allocate() is a pointer bump (plus counters); deallocate() of a pool block reuses nothing: the
// block stays spent until the pool is destroyed, so demand grows with every allocation the map ever
// made, not with its live size. A block that came from the fallback is returned to free().
//
// Cost model: the fast path is ~10 instructions (two counter updates, one compare for the warning
// threshold, one for room left, the bump); the fallback is a malloc call.
#ifndef HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_
#define HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_

#include <cstddef>

#include "allocators/policy.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

class BumpPool {
 public:
  // Throws PoolReserveError when the capacity cannot be reserved.
  explicit BumpPool(const PoolOptions& options = {}) : core_("bump pool", options) {}

  [[nodiscard]] void* allocate(std::size_t bytes) {
    core_.stats().record_allocation(bytes);
    return core_.take_fresh(bytes, SlotsForRequest(bytes));
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    core_.stats().record_deallocation(bytes);
    core_.release_if_fallback(p);
  }

  bool owns(const void* p) const { return core_.owns(p); }
  const AllocStats& stats() const { return core_.stats(); }

 private:
  PoolCore core_;
};

static_assert(OwningAllocatorPolicy<BumpPool>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_
