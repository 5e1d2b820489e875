// hamt/refcount.h: reference-count policies for hamt::PersistentMap, which counts, in every node
// and in the control block that holds a lineage's allocator policy, how many references to it
// exist. The choice is a template parameter, as immer's memory_policy composes a heap with a
// refcount policy:
//
//   hamt::UnsyncRefcount   a plain uint32 (the default). Versions of one map, and the nodes they
//                          share, must then be used by one thread at a time.
//   hamt::AtomicRefcount   std::atomic<uint32>: versions may be copied, read, updated and dropped
//                          on different threads at once. (The allocator policy is shared by every
//                          version too: it must then be thread-safe itself; the counted policies of
//                          allocators/ are not, since their counters are plain integers.)
//
// A refcount policy R is 4 bytes with:
//   explicit R(std::uint32_t initial);
//   void increment() noexcept;
//   bool decrement() noexcept;      // true when the count reached zero: free the object
//   bool unique() const noexcept;   // count == 1: only the caller's reference is left, so the
//                                   // caller may update the object in place
//   std::uint32_t count() const noexcept;  // for invariant checks
//
// Cost: UnsyncRefcount is one add or sub. AtomicRefcount increments relaxed (a new reference is
// made from an existing one, which keeps the object alive), decrements acq_rel (the thread that
// frees must see every other thread's writes before their decrement) and reads unique() with
// acquire (a thread that then updates in place must see the writes of the version it took over).
#ifndef HAMT_ALLOC_HAMT_REFCOUNT_H_
#define HAMT_ALLOC_HAMT_REFCOUNT_H_

#include <atomic>
#include <concepts>
#include <cstdint>

#include "allocators/assert.h"

namespace hamt {

template <class R>
concept RefcountPolicy = std::constructible_from<R, std::uint32_t> && sizeof(R) == 4 &&
                         requires(R& r, const R& c) {
                           { r.increment() } noexcept;
                           { r.decrement() } noexcept -> std::same_as<bool>;
                           { c.unique() } noexcept -> std::same_as<bool>;
                           { c.count() } noexcept -> std::same_as<std::uint32_t>;
                         };

class UnsyncRefcount {
 public:
  explicit UnsyncRefcount(std::uint32_t initial) : count_(initial) {}
  UnsyncRefcount(const UnsyncRefcount&) = delete;
  UnsyncRefcount& operator=(const UnsyncRefcount&) = delete;

  void increment() noexcept {
    HAMT_ASSERT(count_ != 0 && count_ != UINT32_MAX);
    ++count_;
  }
  bool decrement() noexcept {
    HAMT_ASSERT(count_ != 0);
    return --count_ == 0;
  }
  bool unique() const noexcept { return count_ == 1; }
  std::uint32_t count() const noexcept { return count_; }

 private:
  std::uint32_t count_;
};

class AtomicRefcount {
 public:
  explicit AtomicRefcount(std::uint32_t initial) : count_(initial) {}
  AtomicRefcount(const AtomicRefcount&) = delete;
  AtomicRefcount& operator=(const AtomicRefcount&) = delete;

  void increment() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }
  bool decrement() noexcept { return count_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  bool unique() const noexcept { return count_.load(std::memory_order_acquire) == 1; }
  std::uint32_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> count_;
};

static_assert(RefcountPolicy<UnsyncRefcount> && RefcountPolicy<AtomicRefcount>);

}  // namespace hamt

#endif  // HAMT_ALLOC_HAMT_REFCOUNT_H_
