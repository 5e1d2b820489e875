// allocators/pmr.h: adapters between our policies and std::pmr::memory_resource, both ways.
//
// PmrBackend: a backend over any std::pmr::memory_resource* (not owned); PmrPolicy is its counted
//   policy. Every allocate and deallocate is a virtual call (do_allocate / do_deallocate): inherent
//   to pmr, whose point is choosing the resource at run time, and exactly the cost our static
//   policies avoid.
// PmrMonotonicBackend: owns a std::pmr::monotonic_buffer_resource over new_delete_resource(): a
//   bump allocator in growing chunks; deallocate() is a no-op, memory returns when the backend dies.
// PmrPoolBackend: owns a std::pmr::unsynchronized_pool_resource (per-size pools over
//   new_delete_resource(); single-threaded).
// PolicyResource<P>: a std::pmr::memory_resource that owns a policy P and serves from it, so that
//   our pools can back std::pmr containers.
//
// Every backend here asks its resource for kMinAlignment (8) and turns the resource's
// std::bad_alloc into nullptr (Counted throws it again; a Fallback can take over instead). The
// owning ones keep the resource behind a unique_ptr because memory resources cannot move, and a
// backend must.
#ifndef HAMT_ALLOC_ALLOCATORS_PMR_H_
#define HAMT_ALLOC_ALLOCATORS_PMR_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <new>
#include <utility>

#include "allocators/counted.h"
#include "allocators/policy.h"
#include "allocators/stats.h"

namespace allocators {

// `bytes` from `resource`, 8-byte aligned; nullptr when the resource throws std::bad_alloc.
inline void* PmrAllocate(std::pmr::memory_resource* resource, std::size_t bytes) {
  try {
    return resource->allocate(bytes, kMinAlignment);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

class PmrBackend {
 public:
  // `resource` must outlive the backend and every block it handed out.
  explicit PmrBackend(std::pmr::memory_resource* resource = std::pmr::get_default_resource())
      : resource_(resource) {}

  void* allocate(std::size_t bytes) { return PmrAllocate(resource_, bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept {
    resource_->deallocate(p, bytes, kMinAlignment);
  }

  std::pmr::memory_resource* resource() const { return resource_; }

 private:
  std::pmr::memory_resource* resource_;
};

// A backend that owns its Resource, made over new_delete_resource() from `args`.
template <class Resource>
class OwnedPmrBackend {
 public:
  template <class... Args>
    requires std::constructible_from<Resource, Args..., std::pmr::memory_resource*>
  explicit OwnedPmrBackend(Args&&... args)
      : owned_(std::make_unique<Owned>(std::forward<Args>(args)..., std::pmr::new_delete_resource())) {}

  void* allocate(std::size_t bytes) { return PmrAllocate(resource(), bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept {
    resource()->deallocate(p, bytes, kMinAlignment);
  }

  Resource* resource() const { return &owned_->resource; }

 private:
  // The resource as a member, so that it dies by its complete-object destructor: deleting it
  // through its own (virtual) destructor lets GCC devirtualize into a call to the deleting
  // destructor, which libstdc++ does not export for the pmr resources (an undefined reference).
  struct Owned {
    template <class... Args>
    explicit Owned(Args&&... args) : resource(std::forward<Args>(args)...) {}
    Resource resource;
  };
  std::unique_ptr<Owned> owned_;
};

// Arguments: none, or the first chunk's size in bytes (later chunks grow geometrically).
using PmrMonotonicBackend = OwnedPmrBackend<std::pmr::monotonic_buffer_resource>;
// Arguments: none, or std::pmr::pool_options.
using PmrPoolBackend = OwnedPmrBackend<std::pmr::unsynchronized_pool_resource>;

using PmrPolicy = Counted<PmrBackend>;
using PmrMonotonicPolicy = Counted<PmrMonotonicBackend>;
using PmrPoolPolicy = Counted<PmrPoolBackend>;

static_assert(AllocatorPolicy<PmrPolicy>);
static_assert(AllocatorPolicy<PmrMonotonicPolicy>);
static_assert(AllocatorPolicy<PmrPoolPolicy>);

// A memory resource that owns a policy P and serves every request from it.
//
// Alignment: a policy guarantees kMinAlignment (8). A request for more (e.g. a pmr container of a
// 16-byte-aligned type) is served honestly by over-allocation: the resource asks P for
// bytes + alignment, returns the first suitably aligned address at least 8 bytes in, and keeps the
// block's own address in the 8 bytes just below it. P's telemetry therefore shows the larger size,
// which is what it really served. Alignments that are not powers of two are not valid in pmr.
//
// do_is_equal is identity: memory from one PolicyResource can only go back to that one.
// Cost: the virtual call of pmr, then P's inline fast path.
template <AllocatorPolicy P>
class PolicyResource final : public std::pmr::memory_resource {
 public:
  template <class... Args>
  explicit PolicyResource(Args&&... args) : policy_(std::forward<Args>(args)...) {}

  P& policy() { return policy_; }
  const P& policy() const { return policy_; }
  const AllocStats& stats() const { return policy_.stats(); }

  // Requests that needed over-allocation (alignment > 8).
  std::uint64_t overaligned_allocations() const { return overaligned_allocations_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (alignment <= kMinAlignment) return policy_.allocate(bytes);
    if (bytes > SIZE_MAX - alignment) throw std::bad_alloc();
    ++overaligned_allocations_;
    auto* block = static_cast<char*>(policy_.allocate(bytes + alignment));
    const auto base = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t aligned = (base + kMinAlignment + alignment - 1) & ~(alignment - 1);
    reinterpret_cast<void**>(aligned)[-1] = block;
    return reinterpret_cast<void*>(aligned);
  }

  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    if (alignment <= kMinAlignment) {
      policy_.deallocate(p, bytes);
      return;
    }
    void* block = static_cast<void**>(p)[-1];
    policy_.deallocate(block, bytes + alignment);
  }

  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  P policy_;
  std::uint64_t overaligned_allocations_ = 0;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_PMR_H_
