// allocators/testing.h: test helpers for allocator policies (testonly).
//
// CheckedSizePolicy<P> wraps any policy and checks the contract of policy.h on every call: blocks
// are kMinAlignment-aligned and distinct, and deallocate() gets exactly the size that allocate()
// got (the recyclers index free lists by size and keep no headers, so a wrong size corrupts them
// silently). Violations are gtest failures. Cost: a hash-map insert and erase per block.
#ifndef HAMT_ALLOC_ALLOCATORS_TESTING_H_
#define HAMT_ALLOC_ALLOCATORS_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>

#include "allocators/policy.h"
#include "allocators/stats.h"
#include "gtest/gtest.h"

namespace allocators {

inline bool IsAligned(const void* p, std::size_t alignment = kMinAlignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

template <AllocatorPolicy P>
class CheckedSizePolicy {
 public:
  template <class... Args>
  explicit CheckedSizePolicy(Args&&... args) : policy_(std::forward<Args>(args)...) {}
  CheckedSizePolicy(CheckedSizePolicy&&) noexcept = default;
  CheckedSizePolicy& operator=(CheckedSizePolicy&&) noexcept = default;
  ~CheckedSizePolicy() { EXPECT_TRUE(live_.empty()) << live_.size() << " blocks never freed"; }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = policy_.allocate(bytes);
    EXPECT_NE(p, nullptr);
    EXPECT_TRUE(IsAligned(p)) << p << " for " << bytes << " bytes";
    const bool fresh = live_.emplace(p, bytes).second;
    EXPECT_TRUE(fresh) << p << " handed out twice";
    return p;
  }

  void deallocate(void* p, std::size_t bytes) {
    auto it = live_.find(p);
    if (it == live_.end()) {
      ADD_FAILURE() << "deallocate(" << p << ", " << bytes << "): not a live block";
      return;  // do not pass a bad pointer on
    }
    EXPECT_EQ(it->second, bytes) << "deallocate(" << p << ") with the wrong size";
    live_.erase(it);
    policy_.deallocate(p, bytes);
  }

  const AllocStats& stats() const { return policy_.stats(); }
  P& inner() { return policy_; }
  std::size_t live_blocks() const { return live_.size(); }

 private:
  P policy_;
  std::unordered_map<void*, std::size_t> live_;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_TESTING_H_
