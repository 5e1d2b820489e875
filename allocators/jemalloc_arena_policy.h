// allocators/jemalloc_arena_policy.h: a dedicated jemalloc arena (mallctl "arenas.create") with
// its own explicit thread cache (mallctl "tcache.create"), loaded privately (private_library.h).
// Every call passes MALLOCX_ARENA(arena) | MALLOCX_TCACHE(tcache), so this policy's blocks never
// mix with the process's or another policy's.
//
// Invariant: every live block of this policy lives in arena_ (owns() asks jemalloc) until
// deallocate() or the policy's destruction. The destructor destroys the tcache (flushing it) and
// resets the arena ("arena.<i>.reset"), which discards any blocks still live: as with the slot
// pools and MimallocHeapPolicy, blocks do not outlive the policy, and a map dropped without freeing
// its nodes leaks nothing. The empty arena then goes to a process-wide list that the next policy
// takes from before creating an arena: destroying arenas instead would leak jemalloc metadata
// (~4 KB per arena; see jemalloc_arena_policy.cc). Two live policies never share an arena.
// Threading: an explicit tcache must not be used by two threads at once: one policy per thread.
// Cost: one indirect call each way plus the counter updates; construction and destruction are
// mallctl calls (microseconds), not for a hot loop.
// The process must have started with the static-TLS tunable (private_library.h).
#ifndef HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_

#include <cstddef>
#include <new>
#include <utility>

#include "allocators/policy.h"
#include "allocators/private_library.h"
#include "allocators/stats.h"

namespace allocators {

class JemallocArenaPolicy {
 public:
  // Throws LibraryLoadError when libjemalloc.so.2 cannot be loaded, std::runtime_error naming the
  // mallctl when the arena or the tcache cannot be created.
  JemallocArenaPolicy();
  ~JemallocArenaPolicy();

  JemallocArenaPolicy(JemallocArenaPolicy&& other) noexcept
      : api_(other.api_),
        arena_(other.arena_),
        tcache_(other.tcache_),
        flags_(other.flags_),
        live_(std::exchange(other.live_, false)),
        stats_(std::exchange(other.stats_, {})) {}
  JemallocArenaPolicy& operator=(JemallocArenaPolicy&& other) noexcept {
    if (this != &other) {
      release();
      api_ = other.api_;
      arena_ = other.arena_;
      tcache_ = other.tcache_;
      flags_ = other.flags_;
      live_ = std::exchange(other.live_, false);
      stats_ = std::exchange(other.stats_, {});
    }
    return *this;
  }
  JemallocArenaPolicy(const JemallocArenaPolicy&) = delete;
  JemallocArenaPolicy& operator=(const JemallocArenaPolicy&) = delete;

  // mallocx(0) is undefined in jemalloc, so a 0-byte request asks for 1 (and frees 1).
  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = api_->mallocx(bytes == 0 ? 1 : bytes, flags_);
    if (p == nullptr) [[unlikely]] throw std::bad_alloc();
    stats_.record_allocation(bytes);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    stats_.record_deallocation(bytes);
    api_->sdallocx(p, bytes == 0 ? 1 : bytes, flags_);
  }

  // Is p a block of this arena? (mallctl "arenas.lookup": not for the hot path; p must be a block
  // of some jemalloc arena in this process.)
  bool owns(const void* p) const;

  unsigned arena_index() const { return arena_; }
  // Released (reset, empty) arenas waiting for the next policy, process-wide.
  static std::size_t ReleasedArenaCount();
  unsigned tcache_index() const { return tcache_; }
  const AllocStats& stats() const { return stats_; }
  const JemallocApi& api() const { return *api_; }

 private:
  void release() noexcept;

  const JemallocApi* api_;
  unsigned arena_ = 0;
  unsigned tcache_ = 0;
  int flags_ = 0;
  bool live_ = false;  // false once moved from
  AllocStats stats_;
};

static_assert(OwningAllocatorPolicy<JemallocArenaPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_
