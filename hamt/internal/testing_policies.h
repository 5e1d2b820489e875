// hamt/internal/testing_policies.h: allocator policies that catch misuse in tests.
//
// CheckedSizePolicy records every live block and fails the running test (gtest ADD_FAILURE) on a
// free of an unknown block (double free, foreign pointer), on a free whose size differs from the
// allocated one, and on blocks still live when it is destroyed (a leak). Fresh blocks are filled
// with garbage and freed ones scribbled over, so reading uninitialized or freed node memory shows.
//
// FailingPolicy is a CheckedSizePolicy whose allocate() throws std::bad_alloc once a shared
// countdown reaches zero: it drives the exception-safety tests.
#ifndef HAMT_ALLOC_HAMT_INTERNAL_TESTING_POLICIES_H_
#define HAMT_ALLOC_HAMT_INTERNAL_TESTING_POLICIES_H_

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>
#include <utility>

#include "allocators/policy.h"
#include "allocators/stats.h"
#include "gtest/gtest.h"

namespace hamt::testing {

class CheckedSizePolicy {
 public:
  CheckedSizePolicy() = default;
  CheckedSizePolicy(CheckedSizePolicy&& other) noexcept
      : live_blocks_(std::exchange(other.live_blocks_, {})),
        stats_(std::exchange(other.stats_, {})) {}
  CheckedSizePolicy& operator=(CheckedSizePolicy&& other) noexcept {
    expect_nothing_live();
    live_blocks_ = std::exchange(other.live_blocks_, {});
    stats_ = std::exchange(other.stats_, {});
    return *this;
  }
  ~CheckedSizePolicy() { expect_nothing_live(); }

  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, kFreshByte, bytes);
    live_blocks_.emplace(p, bytes);
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    auto it = live_blocks_.find(p);
    if (it == live_blocks_.end()) {
      ADD_FAILURE() << "deallocate(" << p << ", " << bytes
                    << "): not a live block (double free or foreign pointer)";
      return;
    }
    if (it->second != bytes) {
      ADD_FAILURE() << "deallocate(" << p << ", " << bytes << "): block was allocated with "
                    << it->second << " bytes";
    }
    std::memset(p, kFreedByte, it->second);
    live_blocks_.erase(it);
    stats_.record_deallocation(bytes);
    std::free(p);
  }

  const allocators::AllocStats& stats() const { return stats_; }
  std::size_t live_blocks() const { return live_blocks_.size(); }

 private:
  static constexpr unsigned char kFreshByte = 0xA5;
  static constexpr unsigned char kFreedByte = 0xDD;

  void expect_nothing_live() const {
    EXPECT_TRUE(live_blocks_.empty()) << live_blocks_.size() << " blocks leaked ("
                                      << stats_.live_bytes << " bytes)";
  }

  std::unordered_map<void*, std::size_t> live_blocks_;
  allocators::AllocStats stats_;
};

class FailingPolicy {
 public:
  // `*countdown` allocations succeed, the next one throws and sets it to -1; while it is negative
  // nothing throws. The caller owns the countdown and rearms it between operations.
  explicit FailingPolicy(int* countdown) : countdown_(countdown) {}

  [[nodiscard]] void* allocate(std::size_t bytes) {
    if (*countdown_ == 0) {
      *countdown_ = -1;
      throw std::bad_alloc();
    }
    if (*countdown_ > 0) --*countdown_;
    return checked_.allocate(bytes);
  }
  void deallocate(void* p, std::size_t bytes) noexcept { checked_.deallocate(p, bytes); }
  const allocators::AllocStats& stats() const { return checked_.stats(); }

 private:
  int* countdown_;
  CheckedSizePolicy checked_;
};

static_assert(allocators::AllocatorPolicy<CheckedSizePolicy>);
static_assert(allocators::AllocatorPolicy<FailingPolicy>);

}  // namespace hamt::testing

#endif  // HAMT_ALLOC_HAMT_INTERNAL_TESTING_POLICIES_H_
