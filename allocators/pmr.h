// allocators/pmr.h: adapters between our policies and std::pmr::memory_resource, both ways.
//
// PmrPolicy: a policy over any std::pmr::memory_resource* (not owned). Every allocate and
//   deallocate is a virtual call (do_allocate / do_deallocate): inherent to pmr, whose point is
//   choosing the resource at run time, and exactly the cost our static policies avoid.
// PmrMonotonicPolicy: owns a std::pmr::monotonic_buffer_resource over new_delete_resource():
//   a bump allocator in growing chunks; deallocate() is a no-op, memory returns when the policy dies.
// PmrPoolPolicy: owns a std::pmr::unsynchronized_pool_resource (per-size pools over
//   new_delete_resource(); single-threaded).
// PolicyResource<P>: a std::pmr::memory_resource that owns a policy P and serves from it, so that
//   our pools can back std::pmr containers.
//
// Every policy here asks its resource for kMinAlignment (8); the owning ones keep the resource
// behind a unique_ptr because memory resources cannot move, and the policy must.
#ifndef HAMT_ALLOC_ALLOCATORS_PMR_H_
#define HAMT_ALLOC_ALLOCATORS_PMR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <new>
#include <utility>

#include "allocators/policy.h"
#include "allocators/stats.h"

namespace allocators {

class PmrPolicy {
 public:
  // `resource` must outlive the policy and every block it handed out.
  explicit PmrPolicy(std::pmr::memory_resource* resource = std::pmr::get_default_resource())
      : resource_(resource) {}
  PmrPolicy(PmrPolicy&& other) noexcept
      : resource_(other.resource_), stats_(std::exchange(other.stats_, {})) {}
  PmrPolicy& operator=(PmrPolicy&& other) noexcept {
    resource_ = other.resource_;
    stats_ = std::exchange(other.stats_, {});
    return *this;
  }

  // A 0-byte request asks the resource for 1 byte, so every live block has its own address.
  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = resource_->allocate(bytes == 0 ? 1 : bytes, kMinAlignment);  // throws bad_alloc
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    resource_->deallocate(p, bytes == 0 ? 1 : bytes, kMinAlignment);
  }

  const AllocStats& stats() const { return stats_; }
  std::pmr::memory_resource* resource() const { return resource_; }

 private:
  std::pmr::memory_resource* resource_;
  AllocStats stats_;
};

static_assert(AllocatorPolicy<PmrPolicy>);

class PmrMonotonicPolicy {
 public:
  // `initial_bytes`: size of the first chunk (0: the library's default). Later chunks grow
  // geometrically.
  explicit PmrMonotonicPolicy(std::size_t initial_bytes = 0)
      : resource_(initial_bytes == 0
                      ? std::make_unique<std::pmr::monotonic_buffer_resource>(
                            std::pmr::new_delete_resource())
                      : std::make_unique<std::pmr::monotonic_buffer_resource>(
                            initial_bytes, std::pmr::new_delete_resource())),
        policy_(resource_.get()) {}
  PmrMonotonicPolicy(PmrMonotonicPolicy&&) noexcept = default;
  PmrMonotonicPolicy& operator=(PmrMonotonicPolicy&& other) noexcept {
    policy_ = std::move(other.policy_);  // before the resource it points into is replaced
    resource_ = std::move(other.resource_);
    return *this;
  }

  [[nodiscard]] void* allocate(std::size_t bytes) { return policy_.allocate(bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept { policy_.deallocate(p, bytes); }
  const AllocStats& stats() const { return policy_.stats(); }
  std::pmr::monotonic_buffer_resource* resource() const { return resource_.get(); }

 private:
  std::unique_ptr<std::pmr::monotonic_buffer_resource> resource_;
  PmrPolicy policy_;
};

static_assert(AllocatorPolicy<PmrMonotonicPolicy>);

class PmrPoolPolicy {
 public:
  explicit PmrPoolPolicy(const std::pmr::pool_options& options = {})
      : resource_(std::make_unique<std::pmr::unsynchronized_pool_resource>(
            options, std::pmr::new_delete_resource())),
        policy_(resource_.get()) {}
  PmrPoolPolicy(PmrPoolPolicy&&) noexcept = default;
  PmrPoolPolicy& operator=(PmrPoolPolicy&& other) noexcept {
    policy_ = std::move(other.policy_);
    resource_ = std::move(other.resource_);
    return *this;
  }

  [[nodiscard]] void* allocate(std::size_t bytes) { return policy_.allocate(bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept { policy_.deallocate(p, bytes); }
  const AllocStats& stats() const { return policy_.stats(); }
  std::pmr::unsynchronized_pool_resource* resource() const { return resource_.get(); }

 private:
  std::unique_ptr<std::pmr::unsynchronized_pool_resource> resource_;
  PmrPolicy policy_;
};

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
