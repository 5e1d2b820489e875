// allocators/slot_pool.h: the fixed slot pool shared by BumpPool and SlotRecycler.
//
// A pool is one range of 8-byte slots, reserved once with mmap (MAP_NORESERVE: address space only;
// pages are touched, and so committed, only as the cursor reaches them) and carved front to back.
// When a request does not fit in what is left, it falls back to malloc and is counted; that block
// is later returned to free(), never to the pool.
//
// Invariants: begin_ <= cursor_ <= end_; every pointer in [begin_, cursor_) came from this pool;
// stats_.high_water_slots == (cursor_ - begin_) / 8.
//
// PoolCore is the part both policies share: the reservation, the demand meter with its one-time
// utilization warning, the carve-or-fall-back step and the routing of frees by ownership.
#ifndef HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_
#define HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "allocators/stats.h"

namespace allocators {

struct PoolOptions {
  // Pool size in 8-byte slots (the reference study used 65,536 and 4,194,304). 0 is allowed: then
  // every allocation falls back to malloc.
  std::size_t capacity_slots = 65536;
  // One warning line goes to stderr when slots demanded first reach this fraction of capacity.
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

class PoolCore {
 public:
  // `name` prefixes the warning line ("bump pool", "slot recycler").
  PoolCore(const char* name, const PoolOptions& options);
  ~PoolCore();
  PoolCore(PoolCore&& other) noexcept;
  PoolCore& operator=(PoolCore&& other) noexcept;
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  // Fresh memory for `bytes` (= `slots` slots): carved from the pool if it fits, else from malloc.
  // Counts the demand either way. The caller has already called stats().record_allocation().
  void* take_fresh(std::size_t bytes, std::size_t slots) {
    stats_.slots_demanded += slots;
    if (stats_.slots_demanded >= warn_at_slots_) [[unlikely]] warn();
    const std::size_t size = slots * kSlotBytes;
    if (size <= static_cast<std::size_t>(end_ - cursor_)) [[likely]] {
      void* p = cursor_;
      cursor_ += size;
      stats_.high_water_slots += slots;
      return p;
    }
    return fall_back(bytes);
  }

  // Returns a fallback block to free() and counts it; returns false (and does nothing) for a block
  // of this pool, which the caller keeps or recycles.
  bool release_if_fallback(void* p) {
    if (owns(p)) [[likely]] return false;
    ++stats_.fallback_deallocations;
    std::free(p);
    return true;
  }

  bool owns(const void* p) const {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    return address - reinterpret_cast<std::uintptr_t>(begin_) <
           static_cast<std::uintptr_t>(end_ - begin_);
  }

  AllocStats& stats() { return stats_; }
  const AllocStats& stats() const { return stats_; }

 private:
  void* fall_back(std::size_t bytes);
  void warn();
  void release_reservation() noexcept;

  const char* name_;
  char* begin_ = nullptr;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
  std::size_t warn_at_slots_ = std::numeric_limits<std::size_t>::max();
  double warn_utilization_ = 0.0;
  AllocStats stats_;
};

// Slots a request occupies; a zero-byte request still takes one slot so that every live block has
// a distinct address.
constexpr std::size_t SlotsForRequest(std::size_t bytes) { return bytes == 0 ? 1 : SlotsFor(bytes); }

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_SLOT_POOL_H_
