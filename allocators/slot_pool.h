// allocators/slot_pool.h: what every slot pool shares: its options and the error thrown when it
// cannot be made. The pool itself is a BumpArena (bump_arena.h), fixed as in the study, or a
// GrowingArena (growing_arena.h); the policies compose them: BumpPool (bump_pool.h), SlotRecycler
// (slot_recycler.h), GrowingPool and GrowingRecycler (growing_pool.h).
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
  // Fixed pools only (bump_arena.h): ask for transparent huge pages, madvise(MADV_HUGEPAGE) over a
  // reservation aligned to 2 MiB, so that whole huge pages fit (a pool below 2 MiB gets none).
  // Whether the kernel grants them is its decision (/sys/kernel/mm/transparent_hugepage/enabled:
  // "never" ignores the advice); AnonHugePages in /proc/self/smaps_rollup shows whether it took.
  bool huge_pages = false;
  // Growing pools only (growing_arena.h), where capacity_slots is the first chunk: each further
  // chunk is growth_factor (>= 1) times the one before, and max_slots caps the total (0: no cap,
  // the pool never falls back; a cap is rounded up to whole pages).
  double growth_factor = 2.0;
  std::size_t max_slots = 0;
};

// Thrown when the pool's address range cannot be reserved (too large for this machine, or an
// overflowing size). The message says how much was asked for and why it failed.
class PoolReserveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_
