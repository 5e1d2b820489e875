// allocators/stats.h: the one telemetry record that every counted allocator policy reports, and
// the empty record that uncounted ones carry instead.
//
// Two kinds of statistic, as in mimalloc's stats: a *counter* only grows (allocations, bytes
// requested), a *count* goes up and down and keeps its peak (live bytes). The field list is written
// once, in HAMT_ALLOC_STATS_FIELDS, and expanded for the struct, the merge (operator+=) and the
// visitor (for_each_field) that benchmark counters are made from. Derived values
// (utilization, fallback rate) are computed by the functions at the bottom, never stored.
//
// AllocStats is also the *meter* that the layers of a policy write into (counted.h passes it down
// to every backend that wants it): each record_* member is the bookkeeping of one event, written
// once. NoStats has the same members, all empty, so that a policy built over it (Uncounted<B>)
// compiles to the same allocation code without a single counter update.
//
// Pool fields are zero for policies without a slot pool. A "slot" is 8 bytes, the unit of the
// reference pool-exhaustion study; a request of n bytes demands ceil(n / 8) slots.
#ifndef HAMT_ALLOC_ALLOCATORS_STATS_H_
#define HAMT_ALLOC_ALLOCATORS_STATS_H_

#include <cstddef>
#include <cstdint>
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
  X(capacity_slots, "pool capacity in 8-byte slots (0: no pool; growing: so far)")          \
  X(pool_chunks, "chunks a growing pool has committed (0: none, or a fixed pool)")          \
  X(slots_demanded, "fresh slots requested from the pool, including those that fell back")  \
  X(high_water_slots, "pool slots handed out at the most (bump cursor)")                    \
  X(reused_allocations, "allocations served from a free list (recyclers)")                  \
  X(fallback_allocations, "allocations the pool could not serve, sent to its fallback")     \
  X(fallback_bytes, "bytes of those fallback allocations")                                  \
  X(fallback_deallocations, "fallback blocks returned to the fallback")                     \
  X(warnings, "utilization warnings emitted")

struct AllocStats {
  // A meter that counts: the layers of a policy update it (see NoStats for the other kind).
  static constexpr bool kCounts = true;

#define HAMT_ALLOC_DECLARE_FIELD(name, description) std::uint64_t name = 0;
  HAMT_ALLOC_STATS_FIELDS(HAMT_ALLOC_DECLARE_FIELD)
#undef HAMT_ALLOC_DECLARE_FIELD

  // Calls visitor(std::string_view name, std::uint64_t value) for every field, in declaration
  // order: the benchmark counters of alloc_bench and the allocator matrix are made from it.
  template <class Visitor>
  void for_each_field(Visitor&& visitor) const {
#define HAMT_ALLOC_VISIT_FIELD(name, description) visitor(std::string_view(#name), name);
    HAMT_ALLOC_STATS_FIELDS(HAMT_ALLOC_VISIT_FIELD)
#undef HAMT_ALLOC_VISIT_FIELD
  }

  // Field by field sum: the telemetry of several policies as one (peaks add up to an upper bound
  // of the joint peak).
  AllocStats& operator+=(const AllocStats& other) {
#define HAMT_ALLOC_ADD_FIELD(name, description) name += other.name;
    HAMT_ALLOC_STATS_FIELDS(HAMT_ALLOC_ADD_FIELD)
#undef HAMT_ALLOC_ADD_FIELD
    return *this;
  }

  // ---- Events, one bookkeeping rule each (called by the layers of a policy). ----

  // Counted<B>: every allocate() and deallocate() that succeeded, with the caller's size.
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
  // BumpArena: its capacity (once), fresh slots asked for (served or not; returns the total so far,
  // which drives the utilization warning), slots carved, and the warning itself.
  void record_capacity(std::size_t slots) { capacity_slots = slots; }
  // GrowingArena: chunks committed so far (with record_capacity, on every new chunk).
  void record_chunks(std::size_t chunks) { pool_chunks = chunks; }
  std::uint64_t record_demand(std::size_t slots) { return slots_demanded += slots; }
  void record_carve(std::size_t slots) { high_water_slots += slots; }
  void record_warning() { ++warnings; }
  // FreeLists: an allocation served from a free list.
  void record_reuse() { ++reused_allocations; }
  // Fallback: a block its secondary served, and one returned to it.
  void record_fallback(std::size_t bytes) {
    ++fallback_allocations;
    fallback_bytes += bytes;
  }
  void record_fallback_deallocation() { ++fallback_deallocations; }

  friend bool operator==(const AllocStats&, const AllocStats&) = default;
};

// The meter of an uncounted policy: every event is ignored, and it takes no space in the policy.
struct NoStats {
  static constexpr bool kCounts = false;

  void record_allocation(std::size_t) {}
  void record_deallocation(std::size_t) {}
  void record_capacity(std::size_t) {}
  void record_chunks(std::size_t) {}
  std::uint64_t record_demand(std::size_t) { return 0; }
  void record_carve(std::size_t) {}
  void record_warning() {}
  void record_reuse() {}
  void record_fallback(std::size_t) {}
  void record_fallback_deallocation() {}
};

// The record an uncounted policy's stats() returns: all zero, forever.
inline constexpr AllocStats kNoStats{};

// ---- Derived values: one function each, never stored. ----

// Slots demanded over capacity, in percent; passes 100 once the pool is exhausted (the reference
// study reports 4,525%). 0 for policies without a pool; +inf for a 0-slot pool that saw demand.
double UtilizationPct(const AllocStats& s);

// Fallback allocations over all allocations, in percent (0 when nothing was allocated).
double FallbackPct(const AllocStats& s);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_STATS_H_
