// allocators/policy.h: the allocator-policy concept that hamt::Map and the experiments are
// templated on.
//
// A policy is a small class with three members (argument order follows std::pmr):
//
//   void* allocate(std::size_t bytes);             // never nullptr; at least 8-byte aligned
//   void deallocate(void* p, std::size_t bytes);    // `bytes` is exactly what allocate() got
//   const AllocStats& stats() const;                // telemetry
//
// and optionally `bool owns(const void* p) const` (pools: was p carved from this pool?) and
// `static constexpr bool kCounted` (false: stats() is not maintained and always reads zero; see
// IsCounted below). Every policy in allocators/ is Counted<Backend> or Uncounted<Backend>
// (counted.h) over a small backend (backend.h); the registry (registry.h) lists them all.
//
// Calls are resolved at compile time (static polymorphism): no virtual call per allocation. The
// adapters in pmr.h convert to and from std::pmr::memory_resource at the edges.
//
// Sized deallocation is part of the contract: a recycler indexes its free lists by `bytes / 8` and
// keeps no headers, so passing a different size corrupts it. Tests check it with
// CheckedSizePolicy (testing.h).
//
// Failure: allocate() throws std::bad_alloc when no memory at all can be had; it never returns
// nullptr.
#ifndef HAMT_ALLOC_ALLOCATORS_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_POLICY_H_

#include <concepts>
#include <cstddef>

#include "allocators/stats.h"

namespace allocators {

// The alignment every policy guarantees for every block.
inline constexpr std::size_t kMinAlignment = 8;

template <class P>
concept AllocatorPolicy = requires(P& policy, const P& const_policy, void* p, std::size_t bytes) {
  { policy.allocate(bytes) } -> std::same_as<void*>;
  { policy.deallocate(p, bytes) } -> std::same_as<void>;
  { const_policy.stats() } -> std::convertible_to<const AllocStats&>;
};

template <class P>
concept OwningAllocatorPolicy = AllocatorPolicy<P> && requires(const P& policy, const void* p) {
  { policy.owns(p) } -> std::same_as<bool>;
};

// Whether P's stats() is maintained: P::kCounted where P says, else true.
template <class P>
constexpr bool IsCounted() {
  if constexpr (requires { P::kCounted; }) {
    return P::kCounted;
  } else {
    return true;
  }
}

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_POLICY_H_
