// allocators/counted.h: Counted<Backend>, the one wrapper that turns a backend (backend.h) into an
// allocator policy (policy.h), and Uncounted<Backend>, the same without telemetry.
//
// What the wrapper adds, once for every backend:
//   - the size rule: a 0-byte request asks the backend for 1 byte (and frees 1), so that every
//     live block has its own address; the telemetry still records the 0 the caller asked for;
//   - failure: a backend that returns nullptr makes allocate() throw std::bad_alloc;
//   - telemetry: the meter (stats.h) that the wrapper and every layer below it report to. Counted
//     keeps an AllocStats; Uncounted keeps a NoStats, which costs no bytes and no instructions,
//     and its stats() reads all zero (kCounted = false says so; IsCounted<P>() in policy.h);
//   - moves: the backend and its telemetry travel together; the moved-from policy reads zero.
//     Self-move-assignment is a no-op here, so no backend has to get it right. Copies are
//     deleted: they would double-count.
//
// Cost model: allocate() is the backend's call plus, when counted, four counter updates and one
// compare (allocations, bytes, live bytes, peak); deallocate() the backend's call plus three.
// Uncounted: the backend's call and the 0 -> 1 select.
// Threading: one policy per thread at a time (a counted policy's counters are plain integers).
#ifndef HAMT_ALLOC_ALLOCATORS_COUNTED_H_
#define HAMT_ALLOC_ALLOCATORS_COUNTED_H_

#include <concepts>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "allocators/assert.h"
#include "allocators/backend.h"
#include "allocators/policy.h"
#include "allocators/slot_pool.h"
#include "allocators/stats.h"

namespace allocators {

enum class Telemetry : bool { kOff = false, kOn = true };

[[noreturn, gnu::cold, gnu::noinline]] inline void ThrowBadAlloc() { throw std::bad_alloc(); }

template <Backend B, Telemetry kTelemetry = Telemetry::kOn>
class BasicPolicy {
  using Meter = std::conditional_t<kTelemetry == Telemetry::kOn, AllocStats, NoStats>;

 public:
  using backend_type = B;
  static constexpr bool kCounted = kTelemetry == Telemetry::kOn;

  BasicPolicy() requires std::default_initializable<B> : backend_() { RecordStatic(backend_, meter_); }
  // Constructs the backend from `args` (e.g. PoolOptions, or a backend to move in).
  template <class... Args>
    requires(sizeof...(Args) > 0 && std::constructible_from<B, Args...>)
  explicit BasicPolicy(Args&&... args) : backend_(std::forward<Args>(args)...) {
    RecordStatic(backend_, meter_);
  }
  // Pools, also from a braced list: BumpPool({.capacity_slots = 1024, .quiet = true}).
  explicit BasicPolicy(const PoolOptions& options)
    requires std::constructible_from<B, const PoolOptions&>
      : backend_(options) {
    RecordStatic(backend_, meter_);
  }

  BasicPolicy(BasicPolicy&& other) noexcept
      : backend_(std::move(other.backend_)), meter_(std::exchange(other.meter_, {})) {}
  BasicPolicy& operator=(BasicPolicy&& other) noexcept {
    if (this != &other) {
      backend_ = std::move(other.backend_);
      meter_ = std::exchange(other.meter_, {});
    }
    return *this;
  }
  BasicPolicy(const BasicPolicy&) = delete;
  BasicPolicy& operator=(const BasicPolicy&) = delete;

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = AllocateFrom(backend_, bytes == 0 ? 1 : bytes, meter_);
    if (p == nullptr) [[unlikely]] ThrowBadAlloc();
    HAMT_ASSERT(IsAligned(p));
    meter_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    HAMT_ASSERT(p != nullptr);
    if constexpr (kCounted) HAMT_ASSERT(meter_.live_bytes >= bytes);
    meter_.record_deallocation(bytes);
    DeallocateTo(backend_, p, bytes == 0 ? 1 : bytes, meter_);
  }

  // Was p handed out by this policy's backend? Only where the backend can tell.
  bool owns(const void* p) const
    requires OwningBackend<B>
  {
    return backend_.owns(p);
  }

  const AllocStats& stats() const {
    if constexpr (kCounted) {
      return meter_;
    } else {
      return kNoStats;
    }
  }

  B& backend() { return backend_; }
  const B& backend() const { return backend_; }

 private:
  static_assert(std::is_nothrow_move_constructible_v<B> && std::is_nothrow_move_assignable_v<B>,
                "a policy moves with the map that holds it, in noexcept moves");

  [[no_unique_address]] B backend_;
  [[no_unique_address]] Meter meter_;
};

template <Backend B>
using Counted = BasicPolicy<B, Telemetry::kOn>;
template <Backend B>
using Uncounted = BasicPolicy<B, Telemetry::kOff>;

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_COUNTED_H_
