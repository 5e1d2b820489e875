// allocators/growing_pool.h: pools that grow in chunks instead of falling back
// (growing_arena.h), with and without per-size recycling (free_lists.h).
//
//   GrowingPool        Counted<Fallback<GrowingArena, MallocBackend>>
//   GrowingRecycler    Counted<Fallback<FreeLists<GrowingArena>, MallocBackend>>
//
// Options (PoolOptions): capacity_slots is the first chunk, growth_factor the ratio between
// chunks, max_slots an optional cap. Without a cap they never fall back: the Fallback is there for
// a capped pool, and so that they compose, and are named, exactly like BumpPool and SlotRecycler.
//
// Cost model: BumpPool's and SlotRecycler's fast paths; one mprotect per new chunk.
#ifndef HAMT_ALLOC_ALLOCATORS_GROWING_POOL_H_
#define HAMT_ALLOC_ALLOCATORS_GROWING_POOL_H_

#include "allocators/backend.h"
#include "allocators/counted.h"
#include "allocators/fallback.h"
#include "allocators/free_lists.h"
#include "allocators/growing_arena.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"

namespace allocators {

template <Backend Secondary = MallocBackend>
using GrowingPoolWith = Counted<Fallback<GrowingArena, Secondary>>;
using GrowingPool = GrowingPoolWith<>;

template <Backend Secondary = MallocBackend>
using GrowingRecyclerWith = Counted<Fallback<FreeLists<GrowingArena>, Secondary>>;
using GrowingRecycler = GrowingRecyclerWith<>;

static_assert(OwningAllocatorPolicy<GrowingPool>);
static_assert(OwningAllocatorPolicy<GrowingRecycler>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_GROWING_POOL_H_
