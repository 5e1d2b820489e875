// allocators/fallback.h: Fallback<Primary, Secondary>, a backend that serves from Primary and
// sends what Primary cannot serve to Secondary, as immer's heaps compose. The study's bump pool is
// Fallback<BumpArena, MallocBackend>; any backend can stand in for malloc (bump_pool.h).
//
// allocate() asks Primary; on nullptr (Primary exhausted) it asks Secondary and counts a fallback.
// deallocate() routes by Primary::owns(p) (a range check for a pool): Primary's blocks go back to
// Primary, every other block to Secondary, counted. owns() is Primary's: a block that fell back is
// not "owned" (most secondaries cannot tell their blocks from anyone else's).
//
// Invariant: a block is Primary's iff Primary.owns() says so, from allocate() to deallocate().
// Telemetry: fallback_allocations and fallback_bytes (a 0-byte request counts the 1 byte Counted
// asked for), fallback_deallocations; Primary and Secondary report their own.
// Cost model: the owns() check on every free; Primary's path inline, Secondary's out of line.
#ifndef HAMT_ALLOC_ALLOCATORS_FALLBACK_H_
#define HAMT_ALLOC_ALLOCATORS_FALLBACK_H_

#include <concepts>
#include <cstddef>
#include <utility>

#include "allocators/backend.h"
#include "allocators/stats.h"

namespace allocators {

template <class Primary, class Secondary>
  requires Backend<Primary> && OwningBackend<Primary> && Backend<Secondary>
class Fallback {
 public:
  static constexpr bool kNeedsStaticTls = NeedsStaticTls<Primary>() || NeedsStaticTls<Secondary>();

  explicit Fallback(Primary primary, Secondary secondary)
      : primary_(std::move(primary)), secondary_(std::move(secondary)) {}
  // Primary from `args`, Secondary default-made: Fallback<BumpArena, MallocBackend>(options).
  template <class... Args>
    requires std::constructible_from<Primary, Args...> && std::default_initializable<Secondary>
  explicit Fallback(Args&&... args) : primary_(std::forward<Args>(args)...), secondary_() {}

  template <class Meter>
  [[nodiscard]] void* allocate(std::size_t bytes, Meter& meter) {
    if (void* p = AllocateFrom(primary_, bytes, meter)) [[likely]] return p;
    return allocate_secondary(bytes, meter);
  }

  template <class Meter>
  void deallocate(void* p, std::size_t bytes, Meter& meter) noexcept {
    if (primary_.owns(p)) [[likely]] {
      DeallocateTo(primary_, p, bytes, meter);
      return;
    }
    meter.record_fallback_deallocation();
    DeallocateTo(secondary_, p, bytes, meter);
  }

  bool owns(const void* p) const { return primary_.owns(p); }

  template <class Meter>
  void record_static(Meter& meter) const {
    RecordStatic(primary_, meter);
    RecordStatic(secondary_, meter);
  }

  Primary& primary() { return primary_; }
  const Primary& primary() const { return primary_; }
  Secondary& secondary() { return secondary_; }
  const Secondary& secondary() const { return secondary_; }

 private:
  template <class Meter>
  [[gnu::noinline]] void* allocate_secondary(std::size_t bytes, Meter& meter) {
    void* p = AllocateFrom(secondary_, bytes, meter);
    if (p != nullptr) meter.record_fallback(bytes);
    return p;
  }

  Primary primary_;
  [[no_unique_address]] Secondary secondary_;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_FALLBACK_H_
