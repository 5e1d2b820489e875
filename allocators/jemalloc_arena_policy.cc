#include "allocators/jemalloc_arena_policy.h"

#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace allocators {
namespace {

// Arenas that a backend has released ("arena.<i>.reset": every block discarded) and that the next
// backend takes before creating a new one. Why not "arena.<i>.destroy": jemalloc 5.3 never frees the
// metadata (radix-tree leaves for the address ranges an arena mapped) of a destroyed arena, and a
// new arena maps new ranges, so every create/use/destroy cycle kept ~4 KB resident for the life of
// the process (5,000 one-map cycles: +20 MB of jemalloc "stats.metadata"). A reset arena keeps its
// ranges, so reusing it costs nothing. Shared by all threads; intentionally never destroyed (a
// backend may be released during static destruction).
class ReleasedArenas {
 public:
  std::optional<unsigned> Take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (arenas_.empty()) return std::nullopt;
    const unsigned arena = arenas_.back();
    arenas_.pop_back();
    return arena;
  }
  void Put(unsigned arena) {
    std::lock_guard<std::mutex> lock(mutex_);
    arenas_.push_back(arena);
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return arenas_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<unsigned> arenas_;
};

ReleasedArenas& Released() {
  static ReleasedArenas* const released = new ReleasedArenas;
  return *released;
}

// Returns the mallctl's error (0: done).
int ArenaCommand(const JemallocApi& api, unsigned arena, const char* command) {
  const std::string name = "arena." + std::to_string(arena) + "." + command;
  return api.mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
}

void Warn(const std::string& what, int error) {
  std::cerr << "warning: jemalloc mallctl(\"" << what << "\") failed: " << std::strerror(error)
            << "\n";
}

}  // namespace

JemallocArenaBackend::JemallocArenaBackend() : api_(&Jemalloc()) {
  if (std::optional<unsigned> arena = Released().Take()) {
    arena_ = *arena;
  } else {
    std::size_t size = sizeof(unsigned);
    if (int error = api_->mallctl("arenas.create", &arena_, &size, nullptr, 0); error != 0) {
      throw std::runtime_error(std::string("jemalloc mallctl(\"arenas.create\") failed: ") +
                               std::strerror(error));
    }
  }
  std::size_t size = sizeof(unsigned);
  if (int error = api_->mallctl("tcache.create", &tcache_, &size, nullptr, 0); error != 0) {
    Released().Put(arena_);  // still empty
    throw std::runtime_error(std::string("jemalloc mallctl(\"tcache.create\") failed: ") +
                             std::strerror(error));
  }
  flags_ = JemallocArenaFlag(arena_) | JemallocTcacheFlag(tcache_);
  live_ = true;
}

JemallocArenaBackend::~JemallocArenaBackend() { release(); }

void JemallocArenaBackend::release() noexcept {
  if (!live_) return;
  live_ = false;
  // The tcache first: it may hold blocks of the arena, and an arena may only be reset once every
  // tcache that touched it is flushed.
  if (int error = api_->mallctl("tcache.destroy", nullptr, nullptr, &tcache_, sizeof(tcache_));
      error != 0) {
    Warn("tcache.destroy", error);
  }
  if (int error = ArenaCommand(*api_, arena_, "reset"); error != 0) {
    // Not reusable: give it back to jemalloc instead.
    Warn("arena." + std::to_string(arena_) + ".reset", error);
    if (int destroy_error = ArenaCommand(*api_, arena_, "destroy"); destroy_error != 0) {
      Warn("arena." + std::to_string(arena_) + ".destroy", destroy_error);
    }
    return;
  }
  Released().Put(arena_);
}

std::size_t JemallocArenaBackend::ReleasedArenaCount() { return Released().size(); }

bool JemallocArenaBackend::owns(const void* p) const {
  if (!live_ || p == nullptr) return false;
  unsigned arena = 0;
  std::size_t size = sizeof(arena);
  const void* pointer = p;
  if (api_->mallctl("arenas.lookup", &arena, &size, const_cast<void**>(&pointer), sizeof(pointer)) !=
      0) {
    return false;
  }
  return arena == arena_;
}

}  // namespace allocators
