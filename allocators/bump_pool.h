// allocators/bump_pool.h: the reference study's bump allocator: a fixed slot pool (BumpArena) that
// falls back to another backend, malloc by default, when exhausted.
//
//   BumpPool                          Counted<Fallback<BumpArena, MallocBackend>>
//   BumpPoolWith<MimallocBackend>     the same pool falling back to mimalloc's API
//
// allocate() is a pointer bump; deallocate() of a pool block reuses nothing: the block stays spent
// until the pool is destroyed, so demand grows with every allocation the map ever made, not with
// its live size. A block that came from the fallback is returned to it.
//
// Cost model: the fast path is the arena's (bump_arena.h: two counter updates, two compares, the
// bump) plus Counted's (four counter updates and a compare); a fallback is the secondary's call.
#ifndef HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_
#define HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_

#include "allocators/backend.h"
#include "allocators/bump_arena.h"
#include "allocators/counted.h"
#include "allocators/fallback.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"

namespace allocators {

template <Backend Secondary = MallocBackend>
using BumpPoolWith = Counted<Fallback<BumpArena, Secondary>>;

using BumpPool = BumpPoolWith<>;

static_assert(OwningAllocatorPolicy<BumpPool>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_BUMP_POOL_H_
