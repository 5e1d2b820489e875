// allocators/slot_recycler.h: the reference study's recommended "node recycling": per-size free
// lists (free_lists.h) over a fixed slot pool (bump_arena.h) that falls back to another backend,
// malloc by default.
//
//   SlotRecycler                          Counted<Fallback<FreeLists<BumpArena>, MallocBackend>>
//   SlotRecyclerWith<JemallocBackend>     the same, falling back to jemalloc's API
//
// A freed pool block is reused by the next request of the same slot count; only on a miss are
// fresh slots carved, and only when the pool is exhausted too does a request fall back. Demand
// (fresh slots) therefore tracks the peak live size. The Fallback sits above the free lists, so a
// block that fell back goes back to the fallback and never enters a free list.
//
// Cost model: a hit is a list pop; a miss is the bump path of BumpPool.
#ifndef HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_
#define HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_

#include "allocators/backend.h"
#include "allocators/bump_arena.h"
#include "allocators/counted.h"
#include "allocators/fallback.h"
#include "allocators/free_lists.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"

namespace allocators {

template <Backend Secondary = MallocBackend>
using SlotRecyclerWith = Counted<Fallback<FreeLists<BumpArena>, Secondary>>;

using SlotRecycler = SlotRecyclerWith<>;

static_assert(OwningAllocatorPolicy<SlotRecycler>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_SLOT_RECYCLER_H_
