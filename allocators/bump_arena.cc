#include "allocators/bump_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/str_format.h"

namespace allocators {

BumpArena::BumpArena(const PoolOptions& options, const char* name)
    : name_(name), capacity_slots_(options.capacity_slots) {
  if (options.capacity_slots > 0) {
    if (options.capacity_slots > std::numeric_limits<std::size_t>::max() / kSlotBytes) {
      throw PoolReserveError(absl::StrFormat(
          "%s: capacity of %d slots overflows a byte count", name, options.capacity_slots));
    }
    const std::size_t bytes = options.capacity_slots * kSlotBytes;
    // Huge pages: 2 MiB more is reserved, so that the pool can start on a 2 MiB boundary, and the
    // rest is given back; the advice goes before any page is touched (MAP_POPULATE would fault
    // in small pages first), so prefaulting is then one write per page.
    const std::size_t slack = options.huge_pages ? kHugePageBytes : 0;
    if (bytes > std::numeric_limits<std::size_t>::max() - slack) {
      throw PoolReserveError(absl::StrFormat(
          "%s: capacity of %d slots overflows a byte count", name, options.capacity_slots));
    }
    const bool populate = options.prefault && !options.huge_pages;
    void* base = mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : MAP_NORESERVE),
                      -1, 0);
    if (base == MAP_FAILED) {
      throw PoolReserveError(absl::StrFormat("%s: cannot reserve %d slots (%d bytes): %s", name,
                                             options.capacity_slots, bytes, std::strerror(errno)));
    }
    char* begin = static_cast<char*>(base);
    if (options.huge_pages) {
      const auto address = reinterpret_cast<std::uintptr_t>(base);
      char* aligned =
          begin + ((kHugePageBytes - address % kHugePageBytes) % kHugePageBytes);
      if (aligned != begin) munmap(begin, static_cast<std::size_t>(aligned - begin));
      char* const reserved_end = begin + bytes + slack;
      if (aligned + bytes != reserved_end) {
        munmap(aligned + bytes, static_cast<std::size_t>(reserved_end - (aligned + bytes)));
      }
      begin = aligned;
      huge_pages_advised_ = madvise(begin, bytes, MADV_HUGEPAGE) == 0;
      if (options.prefault) {
        for (std::size_t offset = 0; offset < bytes; offset += kSmallPageBytes) {
          *static_cast<volatile char*>(begin + offset) = 0;
        }
      }
    }
    begin_ = cursor_ = begin;
    end_ = begin_ + bytes;
  }
  if (!options.quiet && options.warn_utilization > 0 && std::isfinite(options.warn_utilization)) {
    warn_utilization_ = options.warn_utilization;
    const double threshold =
        std::ceil(options.warn_utilization * static_cast<double>(options.capacity_slots));
    // A 0-slot pool warns on its first demand.
    warn_at_slots_ = threshold < 1.0 ? 1 : static_cast<std::uint64_t>(threshold);
  }
}

BumpArena::~BumpArena() { release_reservation(); }

BumpArena::BumpArena(BumpArena&& other) noexcept
    : name_(other.name_),
      begin_(std::exchange(other.begin_, nullptr)),
      cursor_(std::exchange(other.cursor_, nullptr)),
      end_(std::exchange(other.end_, nullptr)),
      capacity_slots_(std::exchange(other.capacity_slots_, 0)),
      huge_pages_advised_(std::exchange(other.huge_pages_advised_, false)),
      warn_at_slots_(other.warn_at_slots_),
      warn_utilization_(other.warn_utilization_) {}

BumpArena& BumpArena::operator=(BumpArena&& other) noexcept {
  if (this != &other) {
    release_reservation();
    name_ = other.name_;
    begin_ = std::exchange(other.begin_, nullptr);
    cursor_ = std::exchange(other.cursor_, nullptr);
    end_ = std::exchange(other.end_, nullptr);
    capacity_slots_ = std::exchange(other.capacity_slots_, 0);
    huge_pages_advised_ = std::exchange(other.huge_pages_advised_, false);
    warn_at_slots_ = other.warn_at_slots_;
    warn_utilization_ = other.warn_utilization_;
  }
  return *this;
}

void BumpArena::release_reservation() noexcept {
  if (begin_ != nullptr) munmap(begin_, static_cast<std::size_t>(end_ - begin_));
  begin_ = cursor_ = end_ = nullptr;
}

void BumpArena::warn(AllocStats& stats) {
  warn_at_slots_ = std::numeric_limits<std::uint64_t>::max();  // once per pool
  stats.record_warning();
  std::cerr << absl::StrFormat(
      "warning: %s utilization reached %.0f%% (%d slots demanded of %d); size the pool as "
      "slots_per_entry x N with headroom\n",
      name_, 100.0 * warn_utilization_, stats.slots_demanded, stats.capacity_slots);
}

}  // namespace allocators
