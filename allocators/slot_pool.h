// allocators/slot_pool.h: what every slot pool shares: its options and the error thrown when it
// cannot be made. The pool itself is a BumpArena (bump_arena.h); the study's policies compose it:
// BumpPool (bump_pool.h) and SlotRecycler (slot_recycler.h).
#ifndef HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_
#define HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_

#include <cstddef>
#include <stdexcept>

namespace allocators {

struct PoolOptions {
  // Pool size in 8-byte slots (the reference study used 65,536 and 4,194,304). 0 is allowed: then
  // every allocation goes to the pool's fallback.
  std::size_t capacity_slots = 65536;
  // One warning line goes to stderr when slots demanded first reach this fraction of capacity
  // (counted policies only: the warning is telemetry).
  double warn_utilization = 0.80;
  // No warning at all (telemetry still counts).
  bool quiet = false;
  // Commit and touch every page up front (MAP_POPULATE) instead of on first use, so that page
  // faults are paid when the pool is made rather than inside the allocations that reach new pages.
  bool prefault = false;
};

// Thrown when the pool's address range cannot be reserved (too large for this machine, or an
// overflowing size). The message says how much was asked for and why it failed.
class PoolReserveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_
