// allocators/backend.h: what a backend is, and the traits layer through which the composing parts
// (counted.h, fallback.h, free_lists.h) call one, filling in the optional members.
//
// A backend is a heap in immer's sense: a small movable type that hands out and takes back memory,
// and nothing else. Counted<Backend> (counted.h) turns one into a policy (policy.h) by adding, once
// for all backends, the 0 -> 1 size rule, std::bad_alloc, the telemetry and correct moves.
//
//   void* allocate(std::size_t bytes);          // bytes >= 1. At least kMinAlignment-aligned, or
//                                               // nullptr when it cannot serve (never throws).
//   void deallocate(void* p, std::size_t bytes);  // p from this backend, bytes as allocated; noexcept
//
// Optional members:
//   bool owns(const void* p) const;             // was p handed out by this backend? (cheap for a
//                                               // pool: a range check; Fallback routes frees by it)
//   allocate(bytes, meter) / deallocate(p, bytes, meter)
//                                               // the same, reporting events to the policy's meter
//                                               // (AllocStats or NoStats, stats.h): pools count
//                                               // slots, reuse and fallbacks this way
//   void record_static(Meter&) const;           // writes constant fields (a pool's capacity) once,
//                                               // when the policy is made
//   static constexpr bool kNeedsStaticTls;      // true: the process must run with the static-TLS
//                                               // tunable (private_library.h; jemalloc)
//
// Threading: a backend says nothing about it in its type; the registry (registry.h) records it.
#ifndef HAMT_ALLOC_ALLOCATORS_BACKEND_H_
#define HAMT_ALLOC_ALLOCATORS_BACKEND_H_

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "allocators/policy.h"

namespace allocators {

inline bool IsAligned(const void* p, std::size_t alignment = kMinAlignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

template <class B, class Meter>
concept MeteredBackend = requires(B& backend, void* p, std::size_t bytes, Meter& meter) {
  { backend.allocate(bytes, meter) } -> std::same_as<void*>;
  { backend.deallocate(p, bytes, meter) } -> std::same_as<void>;
};

template <class B>
concept PlainBackend = requires(B& backend, void* p, std::size_t bytes) {
  { backend.allocate(bytes) } -> std::same_as<void*>;
  { backend.deallocate(p, bytes) } -> std::same_as<void>;
};

// Either form; a metered backend must take both meters (counted and uncounted policies).
template <class B>
concept Backend = std::movable<B> && (PlainBackend<B> || (MeteredBackend<B, AllocStats> &&
                                                          MeteredBackend<B, NoStats>));

template <class B>
concept OwningBackend = requires(const B& backend, const void* p) {
  { backend.owns(p) } -> std::same_as<bool>;
};

// ---- Calls through the traits layer ----

template <class B, class Meter>
[[gnu::always_inline]] inline void* AllocateFrom(B& backend, std::size_t bytes, Meter& meter) {
  if constexpr (MeteredBackend<B, Meter>) {
    return backend.allocate(bytes, meter);
  } else {
    return backend.allocate(bytes);
  }
}

template <class B, class Meter>
[[gnu::always_inline]] inline void DeallocateTo(B& backend, void* p, std::size_t bytes,
                                                Meter& meter) noexcept {
  if constexpr (MeteredBackend<B, Meter>) {
    backend.deallocate(p, bytes, meter);
  } else {
    backend.deallocate(p, bytes);
  }
}

template <class B, class Meter>
void RecordStatic(const B& backend, Meter& meter) {
  if constexpr (requires { backend.record_static(meter); }) backend.record_static(meter);
}

template <class B>
constexpr bool NeedsStaticTls() {
  if constexpr (requires { B::kNeedsStaticTls; }) {
    return B::kNeedsStaticTls;
  } else {
    return false;
  }
}

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_BACKEND_H_
