// allocators/jemalloc_arena_policy.h: a dedicated jemalloc arena (mallctl "arenas.create") with
// its own explicit thread cache (mallctl "tcache.create"), loaded privately (private_library.h).
// Every call passes MALLOCX_ARENA(arena) | MALLOCX_TCACHE(tcache), so this backend's blocks never
// mix with the process's or another backend's.
//
// Invariant: every live block of this backend lives in arena_ (owns() asks jemalloc) until
// deallocate() or the backend's destruction. The destructor destroys the tcache (flushing it) and
// resets the arena ("arena.<i>.reset"), which discards any blocks still live: as with the slot
// pools and MimallocHeapBackend, blocks do not outlive the backend, and a map dropped without
// freeing its nodes leaks nothing. The empty arena then goes to a process-wide list that the next
// backend takes from before creating an arena: destroying arenas instead would leak jemalloc
// metadata (~4 KB per arena; see jemalloc_arena_policy.cc). Two live backends never share an arena.
// Threading: an explicit tcache must not be used by two threads at once: one backend per thread.
// Cost: one indirect call each way plus Counted's counters; construction and destruction are
// mallctl calls (microseconds), not for a hot loop.
// The process must have started with the static-TLS tunable (private_library.h).
#ifndef HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_

#include <cstddef>
#include <utility>

#include "allocators/counted.h"
#include "allocators/private_library.h"

namespace allocators {

class JemallocArenaBackend {
 public:
  static constexpr bool kNeedsStaticTls = true;

  // Throws LibraryLoadError when libjemalloc.so.2 cannot be loaded, std::runtime_error naming the
  // mallctl when the arena or the tcache cannot be created.
  JemallocArenaBackend();
  ~JemallocArenaBackend();

  JemallocArenaBackend(JemallocArenaBackend&& other) noexcept
      : api_(other.api_),
        arena_(other.arena_),
        tcache_(other.tcache_),
        flags_(other.flags_),
        live_(std::exchange(other.live_, false)) {}
  JemallocArenaBackend& operator=(JemallocArenaBackend&& other) noexcept {
    if (this != &other) {
      release();
      api_ = other.api_;
      arena_ = other.arena_;
      tcache_ = other.tcache_;
      flags_ = other.flags_;
      live_ = std::exchange(other.live_, false);
    }
    return *this;
  }
  JemallocArenaBackend(const JemallocArenaBackend&) = delete;
  JemallocArenaBackend& operator=(const JemallocArenaBackend&) = delete;

  void* allocate(std::size_t bytes) noexcept { return api_->mallocx(bytes, flags_); }
  void deallocate(void* p, std::size_t bytes) noexcept { api_->sdallocx(p, bytes, flags_); }

  // Is p a block of this arena? (mallctl "arenas.lookup": not for the hot path; p must be a block
  // of some jemalloc arena in this process.)
  bool owns(const void* p) const;

  unsigned arena_index() const { return arena_; }
  unsigned tcache_index() const { return tcache_; }
  // Released (reset, empty) arenas waiting for the next backend, process-wide.
  static std::size_t ReleasedArenaCount();
  const JemallocApi& api() const { return *api_; }

 private:
  void release() noexcept;

  const JemallocApi* api_;
  unsigned arena_ = 0;
  unsigned tcache_ = 0;
  int flags_ = 0;
  bool live_ = false;  // false once moved from
};

using JemallocArenaPolicy = Counted<JemallocArenaBackend>;

static_assert(OwningAllocatorPolicy<JemallocArenaPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_JEMALLOC_ARENA_POLICY_H_
