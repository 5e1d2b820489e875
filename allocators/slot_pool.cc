#include "allocators/slot_pool.h"

#include <sys/mman.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/str_format.h"

namespace allocators {

PoolCore::PoolCore(const char* name, const PoolOptions& options) : name_(name) {
  stats_.capacity_slots = options.capacity_slots;
  if (options.capacity_slots > 0) {
    if (options.capacity_slots > std::numeric_limits<std::size_t>::max() / kSlotBytes) {
      throw PoolReserveError(absl::StrFormat(
          "%s: capacity of %d slots overflows a byte count", name, options.capacity_slots));
    }
    const std::size_t bytes = options.capacity_slots * kSlotBytes;
    void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS |
                          (options.prefault ? MAP_POPULATE : MAP_NORESERVE),
                      -1, 0);
    if (base == MAP_FAILED) {
      throw PoolReserveError(absl::StrFormat("%s: cannot reserve %d slots (%d bytes): %s", name,
                                             options.capacity_slots, bytes, std::strerror(errno)));
    }
    begin_ = cursor_ = static_cast<char*>(base);
    end_ = begin_ + bytes;
  }
  if (!options.quiet && options.warn_utilization > 0 && std::isfinite(options.warn_utilization)) {
    warn_utilization_ = options.warn_utilization;
    const double threshold =
        std::ceil(options.warn_utilization * static_cast<double>(options.capacity_slots));
    // A 0-slot pool warns on its first demand.
    warn_at_slots_ = threshold < 1.0 ? 1 : static_cast<std::size_t>(threshold);
  }
}

PoolCore::~PoolCore() { release_reservation(); }

PoolCore::PoolCore(PoolCore&& other) noexcept
    : name_(other.name_),
      begin_(std::exchange(other.begin_, nullptr)),
      cursor_(std::exchange(other.cursor_, nullptr)),
      end_(std::exchange(other.end_, nullptr)),
      warn_at_slots_(other.warn_at_slots_),
      warn_utilization_(other.warn_utilization_),
      stats_(std::exchange(other.stats_, {})) {}

PoolCore& PoolCore::operator=(PoolCore&& other) noexcept {
  if (this != &other) {
    release_reservation();
    name_ = other.name_;
    begin_ = std::exchange(other.begin_, nullptr);
    cursor_ = std::exchange(other.cursor_, nullptr);
    end_ = std::exchange(other.end_, nullptr);
    warn_at_slots_ = other.warn_at_slots_;
    warn_utilization_ = other.warn_utilization_;
    stats_ = std::exchange(other.stats_, {});
  }
  return *this;
}

void PoolCore::release_reservation() noexcept {
  if (begin_ != nullptr) munmap(begin_, static_cast<std::size_t>(end_ - begin_));
  begin_ = cursor_ = end_ = nullptr;
}

void* PoolCore::fall_back(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  ++stats_.fallback_allocations;
  stats_.fallback_bytes += bytes;
  return p;
}

void PoolCore::warn() {
  warn_at_slots_ = std::numeric_limits<std::size_t>::max();  // once per pool
  ++stats_.warnings;
  std::cerr << absl::StrFormat(
      "warning: %s utilization reached %.0f%% (%d slots demanded of %d); size the pool as "
      "slots_per_entry x N with headroom\n",
      name_, 100.0 * warn_utilization_, stats_.slots_demanded, stats_.capacity_slots);
}

}  // namespace allocators
