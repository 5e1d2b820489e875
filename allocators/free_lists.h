// allocators/free_lists.h: FreeLists<Base>, per-size free lists over a pool backend: the
// reference study's recommended "node recycling". Composed: SlotRecycler =
// Counted<Fallback<FreeLists<BumpArena>, MallocBackend>>.
//
// A freed block goes onto the list for its slot count (bytes / 8 rounded up): frees are sized,
// so no header is needed, and the list link lives in the freed block itself. allocate() pops that
// list first; only on a miss does it ask Base for fresh slots (which returns nullptr when it is
// exhausted, for the Fallback above to take over). Demand on Base therefore tracks the peak live
// size, not the total ever allocated. Blocks never go back to Base.
//
// The lists: an array indexed by slot count for blocks up to kIndexedSlots (4 KiB: a full
// 32-entry HAMT node of entries up to 120 bytes), and a hash map keyed by slot count beyond. An
// index sized to the largest block would grow with it: a replayed program's 813 KiB block made a
// 813 KiB index, zero-filled and page-faulted inside the allocations that grew it (on the
// heaptrack `sort` trace: 50 us per sampled allocation, 2,575 instead of 135 ns per event,
// 0.8 MiB more RSS).
//
// Invariants: every block on a list of slot count k is k slots of Base and not live; a slot count
// of small_.size() or more (above kIndexedSlots; any, after a move) has its map entry before Base
// is asked for a block of it (allocate() makes it first), so deallocate() never allocates and is
// truly noexcept. Only blocks of Base may be freed here (the Fallback above routes by owns()).
// Telemetry: reused_allocations; Base counts the rest.
// Cost model: a hit is a list pop (one load, one store, one counter), plus a hash lookup above
// kIndexedSlots; a miss is Base's allocate.
// With expensive checks, every free walks its list (double free, foreign blocks).
#ifndef HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_
#define HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_

#include <concepts>
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "allocators/assert.h"
#include "allocators/backend.h"
#include "allocators/bump_arena.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

template <class Base = BumpArena>
  requires Backend<Base> && OwningBackend<Base>
class FreeLists {
 public:
  // A pool named for its warning line (bump_arena.h).
  explicit FreeLists(const PoolOptions& options = {}, const char* name = Base::kRecyclerName)
    requires std::constructible_from<Base, const PoolOptions&, const char*>
      : FreeLists(Base(options, name)) {}
  explicit FreeLists(Base base) : base_(std::move(base)), small_(kIndexedSlots + 1, nullptr) {}

  // A moved-from FreeLists has no lists (small_ is empty, so every size goes to the map).
  FreeLists(FreeLists&&) noexcept = default;
  FreeLists& operator=(FreeLists&& other) noexcept {
    if (this != &other) {
      base_ = std::move(other.base_);
      small_ = std::move(other.small_);
      large_ = std::move(other.large_);
    }
    return *this;
  }

  template <class Meter>
  [[nodiscard]] void* allocate(std::size_t bytes, Meter& meter) {
    const std::size_t slots = SlotsFor(bytes);
    if (slots < small_.size()) [[likely]] {
      if (FreeBlock* block = small_[slots]) {
        small_[slots] = block->next;
        meter.record_reuse();
        return block;
      }
      return AllocateFrom(base_, bytes, meter);
    }
    return allocate_large(bytes, slots, meter);
  }

  template <class Meter>
  void deallocate(void* p, std::size_t bytes, Meter&) noexcept {
    const std::size_t slots = SlotsFor(bytes);
    HAMT_ASSERT(base_.owns(p));
    FreeBlock*& head = list(slots);
    if constexpr (kExpensiveChecks) HAMT_ASSERT_EXPENSIVE(list_is_sound(head, p));
    head = ::new (p) FreeBlock{head};
  }

  bool owns(const void* p) const { return base_.owns(p); }

  template <class Meter>
  void record_static(Meter& meter) const {
    RecordStatic(base_, meter);
  }

  Base& base() { return base_; }
  const Base& base() const { return base_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  static constexpr std::size_t kIndexedSlots = 512;

  // The list of a block of `slots` slots that allocate() has carved (so a large one has its map
  // entry): no allocation.
  FreeBlock*& list(std::size_t slots) noexcept {
    if (slots < small_.size()) [[likely]] return small_[slots];
    const auto it = large_.find(slots);
    HAMT_ASSERT(it != large_.end());
    return it->second;
  }

  // A block above kIndexedSlots (any block, after a move): its list gets its map entry first
  // (this may throw std::bad_alloc, as allocate() may), then a pop or a carve. The entry stays
  // even if Base then cannot serve: harmless, and rare.
  template <class Meter>
  [[gnu::noinline]] void* allocate_large(std::size_t bytes, std::size_t slots, Meter& meter) {
    FreeBlock*& head = large_.try_emplace(slots, nullptr).first->second;
    if (FreeBlock* block = head) {
      head = block->next;
      meter.record_reuse();
      return block;
    }
    return AllocateFrom(base_, bytes, meter);
  }

  // Every block on `head`'s list belongs to Base and is not `freed` (which would be a double free).
  bool list_is_sound(const FreeBlock* head, const void* freed) const {
    for (const FreeBlock* block = head; block != nullptr; block = block->next) {
      if (block == freed || !base_.owns(block)) return false;
    }
    return true;
  }

  Base base_;
  std::vector<FreeBlock*> small_;  // indexed by slot count, kIndexedSlots + 1 of them
  absl::flat_hash_map<std::size_t, FreeBlock*> large_;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_
