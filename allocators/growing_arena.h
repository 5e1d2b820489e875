// allocators/growing_arena.h: GrowingArena, a slot pool that grows in chunks instead of running
// dry: the answer to pool exhaustion that has no cliff. Composed like the fixed pool:
//
//   GrowingPool       Counted<Fallback<GrowingArena, MallocBackend>>              (growing_pool.h)
//   GrowingRecycler   Counted<Fallback<FreeLists<GrowingArena>, MallocBackend>>
//
// Chunks. The first chunk holds PoolOptions::capacity_slots (0: none until the first request,
// which gets a chunk of one page or more); each further chunk is
// PoolOptions::growth_factor times the one before, and at least the request that needed it. The
// pool reserves one range of address space up front (PROT_NONE: no memory, no commit charge) and
// commits each chunk by mprotect at the end of the last one, so chunks are contiguous: a request
// that does not fit in a chunk's tail continues into the next chunk and no tail is wasted, and
// owns() stays one range check, as BumpArena's is. Pages are touched, so paid for, only as the
// cursor reaches them (PoolOptions::prefault touches each chunk's pages when it is committed).
//
// Cap. PoolOptions::max_slots caps the total (0: no cap). Without a cap the reservation is
// kDefaultReserveBytes (smaller if the machine refuses that much address space), far beyond any N
// this workbench builds, so the pool never falls back; with one, a request past the cap returns
// nullptr and the Fallback above takes it.
//
// Invariants: begin_ <= cursor_ <= committed_ <= reserved_; [begin_, committed_) is readable and
// writable, chunks_ chunks of it; every pointer in [begin_, cursor_) came from this arena.
// Telemetry (through the meter): capacity_slots (committed so far: it grows with each chunk),
// pool_chunks, slots_demanded, high_water_slots, and with a cap one utilization warning line when
// demand first reaches PoolOptions::warn_utilization of max_slots (never with quiet).
// Cost model: the fast path is BumpArena's (two counter updates, one compare, the bump); a new
// chunk is one mprotect system call, out of line.
#ifndef HAMT_ALLOC_ALLOCATORS_GROWING_ARENA_H_
#define HAMT_ALLOC_ALLOCATORS_GROWING_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "allocators/assert.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

class GrowingArena {
 public:
  // The warning line's name for FreeLists over this arena (free_lists.h).
  static constexpr const char* kRecyclerName = "growing recycler";

  // Address space reserved when PoolOptions::max_slots is 0: 64 GiB (8 Gi slots), about 300 million
  // int64 -> int64 entries of the trie.
  static constexpr std::size_t kDefaultReserveBytes = std::size_t{64} << 30;

  // Commits the first chunk. Throws PoolReserveError for bad options (growth factor below 1 or not
  // finite, a cap below the first chunk, an overflowing size) or when no address space is left.
  explicit GrowingArena(const PoolOptions& options = {}, const char* name = "growing pool");
  ~GrowingArena();
  GrowingArena(GrowingArena&& other) noexcept;
  GrowingArena& operator=(GrowingArena&& other) noexcept;
  GrowingArena(const GrowingArena&) = delete;
  GrowingArena& operator=(const GrowingArena&) = delete;

  // `bytes` >= 1 (Counted's size rule). nullptr only when a cap is set and reached.
  template <class Meter>
  [[nodiscard]] void* allocate(std::size_t bytes, Meter& meter) {
    HAMT_ASSERT(bytes > 0);
    const std::size_t slots = SlotsFor(bytes);
    if constexpr (Meter::kCounts) {
      if (meter.record_demand(slots) >= warn_at_slots_) [[unlikely]] warn(meter);
    }
    const std::size_t size = slots * kSlotBytes;
    if (size > static_cast<std::size_t>(committed_ - cursor_)) [[unlikely]] {
      if (!grow(size, meter)) return nullptr;
    }
    void* p = cursor_;
    cursor_ += size;
    meter.record_carve(slots);
    HAMT_ASSERT(cursor_ <= committed_);
    return p;
  }

  // Nothing is reused (FreeLists over this arena reuses); only checks (debug builds) that p is a
  // block this arena handed out.
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
           static_cast<std::uintptr_t>(reserved_ - begin_);
  }

  template <class Meter>
  void record_static(Meter& meter) const {
    meter.record_capacity(capacity_slots());
    meter.record_chunks(chunks_);
  }

  // Slots committed so far (all chunks).
  std::size_t capacity_slots() const {
    return static_cast<std::size_t>(committed_ - begin_) / kSlotBytes;
  }
  std::size_t chunks() const { return chunks_; }

 private:
  // Commits the next chunk, large enough for `size` bytes beyond the cursor; false at the cap.
  template <class Meter>
  [[gnu::noinline]] bool grow(std::size_t size, Meter& meter) {
    if (!commit_chunk(size)) return false;
    record_static(meter);
    return true;
  }
  bool commit_chunk(std::size_t size);
  [[gnu::cold]] void warn(AllocStats& stats);
  void release() noexcept;

  const char* name_;
  char* begin_ = nullptr;
  char* cursor_ = nullptr;
  char* committed_ = nullptr;
  char* reserved_ = nullptr;
  std::size_t next_chunk_bytes_ = 0;  // the size of the next chunk before the request's minimum
  std::size_t chunks_ = 0;
  double growth_factor_ = 2.0;
  bool prefault_ = false;
  std::uint64_t warn_at_slots_ = std::numeric_limits<std::uint64_t>::max();
  double warn_utilization_ = 0.0;
  std::size_t max_slots_ = 0;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_GROWING_ARENA_H_
