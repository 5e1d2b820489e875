// allocators/testing.h: wrappers that catch misuse of any allocator policy in tests (testonly).
// Each adds one behaviour to the policy it wraps, as immer's debug_size_heap does to a heap, and
// they compose: FaultInjecting<CheckedSizePolicy<SlotRecycler>>.
//
// CheckedSizePolicy<P> checks the contract of policy.h on every call: blocks are
// kMinAlignment-aligned and distinct, deallocate() gets exactly the size that allocate() got (the
// recyclers index free lists by size and keep no headers, so a wrong size corrupts them
// silently), nothing is freed twice or freed that was never allocated, and nothing is still live
// when the wrapper is destroyed or assigned to (a leak). Fresh blocks are filled with 0xA5 and
// freed ones scribbled with 0xDD, so reading uninitialized or freed memory shows. Violations are
// gtest failures (ADD_FAILURE); a bad free is not passed on. Cost: a hash-map insert and erase and
// two memsets per block.
//
// FaultInjecting<P>: after arm_failure(n), n more allocations succeed and the next one throws
// std::bad_alloc (once); take_fired() tells whether it did. It drives the exception-safety tests
// and the fuzzer's fault group.
#ifndef HAMT_ALLOC_ALLOCATORS_TESTING_H_
#define HAMT_ALLOC_ALLOCATORS_TESTING_H_

#include <concepts>
#include <cstddef>
#include <cstring>
#include <new>
#include <unordered_map>
#include <utility>

#include "allocators/backend.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"
#include "allocators/stats.h"
#include "gtest/gtest.h"

namespace allocators {

template <AllocatorPolicy P = MallocPolicy>
class CheckedSizePolicy {
 public:
  static constexpr bool kCounted = IsCounted<P>();

  CheckedSizePolicy() = default;
  template <class... Args>
    requires(sizeof...(Args) > 0 && std::constructible_from<P, Args...>)
  explicit CheckedSizePolicy(Args&&... args) : policy_(std::forward<Args>(args)...) {}
  CheckedSizePolicy(CheckedSizePolicy&& other) noexcept
      : policy_(std::move(other.policy_)), live_(std::exchange(other.live_, {})) {}
  CheckedSizePolicy& operator=(CheckedSizePolicy&& other) noexcept {
    if (this != &other) {
      expect_nothing_live();
      policy_ = std::move(other.policy_);
      live_ = std::exchange(other.live_, {});
    }
    return *this;
  }
  ~CheckedSizePolicy() { expect_nothing_live(); }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = policy_.allocate(bytes);
    EXPECT_NE(p, nullptr);
    EXPECT_TRUE(IsAligned(p)) << p << " for " << bytes << " bytes";
    const bool fresh = live_.emplace(p, bytes).second;
    EXPECT_TRUE(fresh) << p << " handed out twice";
    std::memset(p, kFreshByte, bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    auto it = live_.find(p);
    if (it == live_.end()) {
      ADD_FAILURE() << "deallocate(" << p << ", " << bytes
                    << "): not a live block (double free or foreign pointer)";
      return;  // do not pass a bad pointer on
    }
    if (it->second != bytes) {
      ADD_FAILURE() << "deallocate(" << p << ", " << bytes << "): block was allocated with "
                    << it->second << " bytes";
    }
    std::memset(p, kFreedByte, it->second);
    live_.erase(it);
    policy_.deallocate(p, bytes);
  }

  bool owns(const void* p) const
    requires OwningAllocatorPolicy<P>
  {
    return policy_.owns(p);
  }
  const AllocStats& stats() const { return policy_.stats(); }
  P& inner() { return policy_; }
  std::size_t live_blocks() const { return live_.size(); }

 private:
  static constexpr unsigned char kFreshByte = 0xA5;
  static constexpr unsigned char kFreedByte = 0xDD;

  void expect_nothing_live() const {
    EXPECT_TRUE(live_.empty()) << live_.size() << " blocks never freed";
  }

  P policy_;
  std::unordered_map<void*, std::size_t> live_;
};

template <AllocatorPolicy P = CheckedSizePolicy<>>
class FaultInjecting {
 public:
  static constexpr bool kCounted = IsCounted<P>();

  FaultInjecting() = default;
  template <class... Args>
    requires(sizeof...(Args) > 0 && std::constructible_from<P, Args...>)
  explicit FaultInjecting(Args&&... args) : policy_(std::forward<Args>(args)...) {}

  [[nodiscard]] void* allocate(std::size_t bytes) {
    if (countdown_ == 0) {
      countdown_ = -1;
      fired_ = true;
      throw std::bad_alloc();
    }
    if (countdown_ > 0) --countdown_;
    return policy_.allocate(bytes);
  }
  void deallocate(void* p, std::size_t bytes) noexcept { policy_.deallocate(p, bytes); }
  bool owns(const void* p) const
    requires OwningAllocatorPolicy<P>
  {
    return policy_.owns(p);
  }
  const AllocStats& stats() const { return policy_.stats(); }
  P& inner() { return policy_; }

  // `allocations_before` more allocations succeed, the next one throws; -1 disarms.
  void arm_failure(int allocations_before) { countdown_ = allocations_before; }
  // Whether the armed failure fired since the last call.
  bool take_fired() { return std::exchange(fired_, false); }

 private:
  P policy_;
  int countdown_ = -1;
  bool fired_ = false;
};

template <class P>
concept InjectsFaults = requires(P& policy) {
  policy.arm_failure(1);
  { policy.take_fired() } -> std::same_as<bool>;
};

static_assert(AllocatorPolicy<CheckedSizePolicy<>>);
static_assert(InjectsFaults<FaultInjecting<>>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_TESTING_H_
