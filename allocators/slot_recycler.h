// allocators/slot_recycler.h: a fixed slot pool with per-size free lists: the reference study's
// recommended "node recycling".
//
// A freed pool block goes onto the free list for its slot count (frees are sized, so no header is
// needed: the list link lives in the freed block itself). allocate() pops that list first; only on
// a miss does it carve fresh slots, and only when the pool is exhausted too does it fall back to
// malloc. Demand (fresh slots) therefore tracks the peak live size, not the total ever allocated.
//
// Invariants: every block on free_lists_[k] is k slots of this pool and not live; fallback blocks
// never enter a free list.
// Cost model: a hit is a list pop (one load, one store); a miss is the bump path of BumpPool.
#ifndef HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_
#define HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_

#include <cstddef>
#include <vector>

#include "allocators/policy.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

class SlotRecycler {
 public:
  // Throws PoolReserveError when the capacity cannot be reserved.
  explicit SlotRecycler(const PoolOptions& options = {})
      : core_("slot recycler", options), free_lists_(kPresizedLists, nullptr) {}

  [[nodiscard]] void* allocate(std::size_t bytes) {
    core_.stats().record_allocation(bytes);
    const std::size_t slots = SlotsForRequest(bytes);
    if (slots < free_lists_.size()) [[likely]] {
      if (FreeBlock* block = free_lists_[slots]) {
        free_lists_[slots] = block->next;
        ++core_.stats().reused_allocations;
        return block;
      }
    }
    return core_.take_fresh(bytes, slots);
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    core_.stats().record_deallocation(bytes);
    if (core_.release_if_fallback(p)) return;
    const std::size_t slots = SlotsForRequest(bytes);
    if (slots >= free_lists_.size()) [[unlikely]] free_lists_.resize(slots + 1, nullptr);
    free_lists_[slots] = new (p) FreeBlock{free_lists_[slots]};
  }

  bool owns(const void* p) const { return core_.owns(p); }
  const AllocStats& stats() const { return core_.stats(); }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  // Lists for blocks up to 72 slots exist from the start (a full 32-entry HAMT node of 16-byte
  // entries is 65 slots); larger sizes grow the table on their first free.
  static constexpr std::size_t kPresizedLists = 73;

  PoolCore core_;
  std::vector<FreeBlock*> free_lists_;  // indexed by slot count
};

static_assert(OwningAllocatorPolicy<SlotRecycler>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_
