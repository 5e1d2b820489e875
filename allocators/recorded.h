// allocators/recorded.h: Recorded<P>, a policy that serves every request from P and records it in
// an allocation trace (allocators/trace/), as immer's debug_size_heap adds one behaviour to any
// heap. The experiments replay such traces against every policy (experiments/replay/).
//
//   allocators::trace::Recorder recorder;  // outlives every Recorded that points to it
//   using Policy = allocators::Recorded<allocators::BumpPool>;
//   hamt::Map<K, V, H, E, Policy> map(Policy(allocators::BumpPool(options), recorder));
//   recorder.set_clock(op_index);          // before each map operation
//
// P's behaviour does not change: every call goes to P with the same arguments, in the same order;
// stats() and owns() are P's. Only the recorder's own bookkeeping (in the process's malloc) is
// added. A request too large for a trace event (4 GiB and up) throws std::length_error before P
// is asked.
// Cost: P's call plus Recorder::on_allocate / on_deallocate (a hash-map update and an append).
// Threading: as P, and one recorder per thread.
#ifndef HAMT_ALLOC_ALLOCATORS_RECORDED_H_
#define HAMT_ALLOC_ALLOCATORS_RECORDED_H_

#include <cstddef>
#include <utility>

#include "allocators/policy.h"
#include "allocators/stats.h"
#include "allocators/trace/recorder.h"

namespace allocators {

template <AllocatorPolicy P>
class Recorded {
 public:
  static constexpr bool kCounted = IsCounted<P>();

  Recorded(P policy, trace::Recorder& recorder)
      : policy_(std::move(policy)), recorder_(&recorder) {}
  // Moves keep the recorder: the moved-from policy is P's moved-from state.
  Recorded(Recorded&&) noexcept = default;
  Recorded& operator=(Recorded&&) noexcept = default;

  [[nodiscard]] void* allocate(std::size_t bytes) {
    trace::Recorder::CheckRecordable(bytes);
    void* p = policy_.allocate(bytes);
    try {
      recorder_->on_allocate(p, bytes);
    } catch (...) {
      policy_.deallocate(p, bytes);
      throw;
    }
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    recorder_->on_deallocate(p, bytes);
    policy_.deallocate(p, bytes);
  }

  bool owns(const void* p) const
    requires OwningAllocatorPolicy<P>
  {
    return policy_.owns(p);
  }

  const AllocStats& stats() const { return policy_.stats(); }

  P& policy() { return policy_; }
  const P& policy() const { return policy_; }
  trace::Recorder& recorder() const { return *recorder_; }

 private:
  P policy_;
  trace::Recorder* recorder_;
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_RECORDED_H_
