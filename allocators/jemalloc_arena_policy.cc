#include "allocators/jemalloc_arena_policy.h"

#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

namespace allocators {

JemallocArenaPolicy::JemallocArenaPolicy() : api_(&Jemalloc()) {
  std::size_t size = sizeof(unsigned);
  if (int error = api_->mallctl("arenas.create", &arena_, &size, nullptr, 0); error != 0) {
    throw std::runtime_error(std::string("jemalloc mallctl(\"arenas.create\") failed: ") +
                             std::strerror(error));
  }
  size = sizeof(unsigned);
  if (int error = api_->mallctl("tcache.create", &tcache_, &size, nullptr, 0); error != 0) {
    const std::string destroy = "arena." + std::to_string(arena_) + ".destroy";
    api_->mallctl(destroy.c_str(), nullptr, nullptr, nullptr, 0);
    throw std::runtime_error(std::string("jemalloc mallctl(\"tcache.create\") failed: ") +
                             std::strerror(error));
  }
  flags_ = JemallocArenaFlag(arena_) | JemallocTcacheFlag(tcache_);
  live_ = true;
}

JemallocArenaPolicy::~JemallocArenaPolicy() { release(); }

void JemallocArenaPolicy::release() noexcept {
  if (!live_) return;
  live_ = false;
  // The tcache first: it may hold blocks of the arena, and an arena may only be destroyed once
  // every tcache that touched it is flushed.
  if (int error = api_->mallctl("tcache.destroy", nullptr, nullptr, &tcache_, sizeof(tcache_));
      error != 0) {
    std::cerr << "warning: jemalloc mallctl(\"tcache.destroy\") failed: " << std::strerror(error)
              << "\n";
  }
  const std::string destroy = "arena." + std::to_string(arena_) + ".destroy";
  if (int error = api_->mallctl(destroy.c_str(), nullptr, nullptr, nullptr, 0); error != 0) {
    std::cerr << "warning: jemalloc mallctl(\"" << destroy << "\") failed: " << std::strerror(error)
              << "\n";
  }
}

bool JemallocArenaPolicy::owns(const void* p) const {
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
