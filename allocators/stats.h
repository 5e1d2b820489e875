// allocators/stats.h: the one telemetry record that every allocator policy reports.
//
// Two kinds of statistic, as in mimalloc's stats: a *counter* only grows (allocations, bytes
// requested), a *count* goes up and down and keeps its peak (live bytes). The field list is written
// once, in HAMT_ALLOC_STATS_FIELDS, and expanded for the struct, the visitor that feeds console
// tables, CSV rows and benchmark counters, and the reset. Derived values (utilization, fallback rate)
// are computed by the functions at the bottom, never stored.
//
// Pool fields are zero for policies without a slot pool. A "slot" is 8 bytes, the unit of the
// reference pool-exhaustion study; a request of n bytes demands ceil(n / 8) slots.
#ifndef HAMT_ALLOC_ALLOCATORS_STATS_H_
#define HAMT_ALLOC_ALLOCATORS_STATS_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace allocators {

// Bytes in one pool slot.
inline constexpr std::size_t kSlotBytes = 8;

// Slots needed to hold `bytes`: the unit that pools count demand in.
constexpr std::size_t SlotsFor(std::size_t bytes) { return (bytes + kSlotBytes - 1) / kSlotBytes; }

// X(name, description). Every field is a std::uint64_t.
#define HAMT_ALLOC_STATS_FIELDS(X)                                                          \
  X(allocations, "calls to allocate()")                                                     \
  X(deallocations, "calls to deallocate()")                                                 \
  X(bytes_allocated, "bytes requested by allocate(), total")                                \
  X(bytes_deallocated, "bytes returned by deallocate(), total")                             \
  X(live_bytes, "bytes allocated and not yet deallocated")                                  \
  X(peak_live_bytes, "maximum of live_bytes")                                               \
  X(capacity_slots, "pool capacity in 8-byte slots (0: no pool)")                           \
  X(slots_demanded, "fresh slots requested from the pool, including those that fell back")  \
  X(high_water_slots, "pool slots handed out at the most (bump cursor)")                    \
  X(reused_allocations, "allocations served from a free list (recyclers)")                  \
  X(fallback_allocations, "allocations the pool could not serve, sent to malloc")           \
  X(fallback_bytes, "bytes of those fallback allocations")                                  \
  X(fallback_deallocations, "fallback blocks returned to free()")                           \
  X(warnings, "utilization warnings emitted")

struct AllocStats {
#define HAMT_ALLOC_DECLARE_FIELD(name, description) std::uint64_t name = 0;
  HAMT_ALLOC_STATS_FIELDS(HAMT_ALLOC_DECLARE_FIELD)
#undef HAMT_ALLOC_DECLARE_FIELD

  // Calls visitor(std::string_view name, std::uint64_t value) for every field, in declaration
  // order. The single place that console tables, CSV rows and benchmark counters read from.
  template <class Visitor>
  void for_each_field(Visitor&& visitor) const {
#define HAMT_ALLOC_VISIT_FIELD(name, description) visitor(std::string_view(#name), name);
    HAMT_ALLOC_STATS_FIELDS(HAMT_ALLOC_VISIT_FIELD)
#undef HAMT_ALLOC_VISIT_FIELD
  }

  // Bookkeeping shared by every policy, so that live/peak are maintained the same way everywhere.
  void record_allocation(std::size_t bytes) {
    ++allocations;
    bytes_allocated += bytes;
    live_bytes += bytes;
    if (live_bytes > peak_live_bytes) peak_live_bytes = live_bytes;
  }
  void record_deallocation(std::size_t bytes) {
    ++deallocations;
    bytes_deallocated += bytes;
    live_bytes -= bytes;
  }

  friend bool operator==(const AllocStats&, const AllocStats&) = default;
};

// ---- Derived values: one function each, never stored. ----

inline std::uint64_t CapacityBytes(const AllocStats& s) { return s.capacity_slots * kSlotBytes; }

inline std::uint64_t LiveAllocations(const AllocStats& s) { return s.allocations - s.deallocations; }

// Slots demanded over capacity, in percent; passes 100 once the pool is exhausted (the reference
// study reports 4,525%). 0 for policies without a pool; +inf for a 0-slot pool that saw demand.
double UtilizationPct(const AllocStats& s);

// Fallback allocations over all allocations, in percent (0 when nothing was allocated).
double FallbackPct(const AllocStats& s);

// Prints every field and the derived values in aligned columns, ending in a verdict line:
// "ok" when nothing is live, "not all freed" otherwise, plus a warning at >= 80% utilization.
void PrintStats(const AllocStats& s, std::ostream& out);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_STATS_H_
