// allocators/free_lists.h: FreeLists<Base>, per-size free lists over a pool backend: the
// reference study's recommended "node recycling". Composed: SlotRecycler =
// Counted<Fallback<FreeLists<BumpArena>, MallocBackend>>.
//
// A freed block goes onto the list for its slot count, lists_[bytes / 8 rounded up]: frees are
// sized, so no header is needed, and the list link lives in the freed block itself. allocate()
// pops that list first; only on a miss does it ask Base for fresh slots (which returns nullptr when
// it is exhausted, for the Fallback above to take over). Demand on Base therefore tracks the peak
// live size, not the total ever allocated. Blocks never go back to Base.
//
// Invariants: every block on lists_[k] is k slots of Base and not live; lists_.size() exceeds the
// slot count of every block ever carved through allocate(), which grows the index *before* it asks
// Base for a block too large for it. So deallocate() never allocates and is truly noexcept.
// Only blocks of Base may be freed here (the Fallback above routes by owns()).
// Telemetry: reused_allocations; Base counts the rest.
// Cost model: a hit is a list pop (one load, one store, one counter); a miss is Base's allocate.
// With expensive checks, every free walks its list (double free, foreign blocks).
#ifndef HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_
#define HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_

#include <concepts>
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

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
  explicit FreeLists(Base base) : base_(std::move(base)), lists_(kPresizedLists, nullptr) {}

  FreeLists(FreeLists&&) noexcept = default;
  FreeLists& operator=(FreeLists&& other) noexcept {
    if (this != &other) {
      base_ = std::move(other.base_);
      lists_ = std::move(other.lists_);
    }
    return *this;
  }

  template <class Meter>
  [[nodiscard]] void* allocate(std::size_t bytes, Meter& meter) {
    const std::size_t slots = SlotsFor(bytes);
    if (slots < lists_.size()) [[likely]] {
      if (FreeBlock* block = lists_[slots]) {
        lists_[slots] = block->next;
        meter.record_reuse();
        return block;
      }
      return AllocateFrom(base_, bytes, meter);
    }
    return allocate_larger(bytes, slots, meter);
  }

  template <class Meter>
  void deallocate(void* p, std::size_t bytes, Meter&) noexcept {
    const std::size_t slots = SlotsFor(bytes);
    HAMT_ASSERT(base_.owns(p));
    HAMT_ASSERT(slots < lists_.size());
    if constexpr (kExpensiveChecks) HAMT_ASSERT_EXPENSIVE(list_is_sound(slots, p));
    lists_[slots] = ::new (p) FreeBlock{lists_[slots]};
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
  // Lists for blocks up to 72 slots exist from the start (a full 32-entry HAMT node of 16-byte
  // entries is 65 slots); a larger block grows the index when it is first allocated.
  static constexpr std::size_t kPresizedLists = 73;

  // A size beyond the index: grow it (this may throw std::bad_alloc, as allocate() may), then
  // carve. The index grows even if Base then cannot serve: harmless, and rare.
  template <class Meter>
  [[gnu::noinline]] void* allocate_larger(std::size_t bytes, std::size_t slots, Meter& meter) {
    lists_.resize(slots + 1, nullptr);
    return AllocateFrom(base_, bytes, meter);
  }

  // Every block on lists_[slots] belongs to Base and is not `freed` (which would be a double free).
  bool list_is_sound(std::size_t slots, const void* freed) const {
    for (const FreeBlock* block = lists_[slots]; block != nullptr; block = block->next) {
      if (block == freed || !base_.owns(block)) return false;
    }
    return true;
  }

  Base base_;
  std::vector<FreeBlock*> lists_;  // indexed by slot count
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_FREE_LISTS_H_
