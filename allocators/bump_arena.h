// allocators/bump_arena.h: BumpArena, the fixed slot pool of the reference study as a backend:
// one range of 8-byte slots, reserved once with mmap and carved front to back.
//
// The reservation is address space only (MAP_NORESERVE): pages are touched, and so committed,
// only as the cursor reaches them (PoolOptions::prefault commits them all up front;
// PoolOptions::huge_pages aligns the range to 2 MiB and advises transparent huge pages). allocate()
// returns nullptr when the request does not fit in what is left, so that a Fallback (fallback.h)
// can send it elsewhere; deallocate() gives nothing back: a carved block stays spent until the
// arena is destroyed. Composed: BumpPool = Counted<Fallback<BumpArena, MallocBackend>>.
//
// Invariants: begin_ <= cursor_ <= end_; every pointer in [begin_, cursor_) came from this arena;
// a counted meter's high_water_slots == (cursor_ - begin_) / 8.
// Telemetry (through the meter): capacity_slots, slots_demanded (every request, served or not),
// high_water_slots, and one utilization warning line on stderr when demand first reaches
// PoolOptions::warn_utilization of capacity (counted policies only; never with quiet).
// Cost model: the fast path is two counter updates, one compare for the warning threshold, one for
// room left and the bump.
#ifndef HAMT_ALLOC_ALLOCATORS_BUMP_ARENA_H_
#define HAMT_ALLOC_ALLOCATORS_BUMP_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "allocators/assert.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

class BumpArena {
 public:
  // The warning line's name for FreeLists over this arena (free_lists.h).
  static constexpr const char* kRecyclerName = "slot recycler";

  // `name` prefixes the warning line ("bump pool", "slot recycler"). Throws PoolReserveError when
  // the capacity cannot be reserved.
  explicit BumpArena(const PoolOptions& options = {}, const char* name = "bump pool");
  ~BumpArena();
  BumpArena(BumpArena&& other) noexcept;
  BumpArena& operator=(BumpArena&& other) noexcept;
  BumpArena(const BumpArena&) = delete;
  BumpArena& operator=(const BumpArena&) = delete;

  // `bytes` >= 1 (Counted's size rule). nullptr when it does not fit.
  template <class Meter>
  [[nodiscard]] void* allocate(std::size_t bytes, Meter& meter) {
    HAMT_ASSERT(bytes > 0);
    const std::size_t slots = SlotsFor(bytes);
    if constexpr (Meter::kCounts) {
      if (meter.record_demand(slots) >= warn_at_slots_) [[unlikely]] warn(meter);
    }
    const std::size_t size = slots * kSlotBytes;
    if (size > static_cast<std::size_t>(end_ - cursor_)) [[unlikely]] return nullptr;
    void* p = cursor_;
    cursor_ += size;
    meter.record_carve(slots);
    HAMT_ASSERT(cursor_ <= end_);
    return p;
  }

  // Nothing is reused; only checks (debug builds) that p is a block this arena handed out.
  template <class Meter>
  void deallocate(void* p, std::size_t bytes, Meter&) noexcept {
    HAMT_ASSERT(owns(p));
    HAMT_ASSERT(static_cast<char*>(p) + SlotsFor(bytes) * kSlotBytes <= cursor_);
    (void)p;
    (void)bytes;
  }

  // Inside the reservation? One subtraction and one compare.
  bool owns(const void* p) const {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    return address - reinterpret_cast<std::uintptr_t>(begin_) <
           static_cast<std::uintptr_t>(end_ - begin_);
  }

  template <class Meter>
  void record_static(Meter& meter) const {
    meter.record_capacity(capacity_slots_);
  }

  std::size_t capacity_slots() const { return capacity_slots_; }
  // Whether madvise(MADV_HUGEPAGE) accepted the advice (PoolOptions::huge_pages); the kernel may
  // still back the pool with small pages (its THP setting, or no free huge page).
  bool huge_pages_advised() const { return huge_pages_advised_; }

  static constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;  // x86-64's THP size
  static constexpr std::size_t kSmallPageBytes = 4096;

 private:
  [[gnu::cold]] void warn(AllocStats& stats);
  void release_reservation() noexcept;

  const char* name_;
  char* begin_ = nullptr;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
  std::size_t capacity_slots_ = 0;
  bool huge_pages_advised_ = false;
  std::uint64_t warn_at_slots_ = std::numeric_limits<std::uint64_t>::max();
  double warn_utilization_ = 0.0;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_BUMP_ARENA_H_
