#include "allocators/growing_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/str_format.h"

namespace allocators {
namespace {

std::size_t PageBytes() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t RoundUpToPage(std::size_t bytes) {
  const std::size_t page = PageBytes();
  return (bytes + page - 1) / page * page;
}

}  // namespace

GrowingArena::GrowingArena(const PoolOptions& options, const char* name)
    : name_(name),
      growth_factor_(options.growth_factor),
      prefault_(options.prefault),
      max_slots_(options.max_slots) {
  if (options.huge_pages) {
    throw PoolReserveError(absl::StrFormat(
        "%s: huge pages are an option of the fixed pools (bump_pool, slot_recycler) only", name));
  }
  if (!std::isfinite(options.growth_factor) || options.growth_factor < 1.0) {
    throw PoolReserveError(absl::StrFormat("%s: growth factor %g: must be a number >= 1", name,
                                           options.growth_factor));
  }
  constexpr std::size_t kMaxSlots = std::numeric_limits<std::size_t>::max() / kSlotBytes / 2;
  if (options.capacity_slots > kMaxSlots || options.max_slots > kMaxSlots) {
    throw PoolReserveError(absl::StrFormat("%s: %d slots overflow a byte count", name,
                                           std::max(options.capacity_slots, options.max_slots)));
  }
  if (options.max_slots != 0 && options.max_slots < options.capacity_slots) {
    throw PoolReserveError(absl::StrFormat("%s: cap of %d slots is below the first chunk (%d)",
                                           name, options.max_slots, options.capacity_slots));
  }
  const std::size_t first = RoundUpToPage(options.capacity_slots * kSlotBytes);
  // Address space only. Without a cap, halve the wish until the machine grants it (an address-space
  // limit, ulimit -v), but never below the first chunk.
  std::size_t reserve = options.max_slots != 0 ? RoundUpToPage(options.max_slots * kSlotBytes)
                                               : std::max(kDefaultReserveBytes, first);
  const std::size_t smallest = std::max(first, PageBytes());
  void* base = MAP_FAILED;
  for (;;) {
    base = mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base != MAP_FAILED || options.max_slots != 0 || reserve / 2 < smallest) break;
    reserve /= 2;
  }
  if (base == MAP_FAILED) {
    throw PoolReserveError(absl::StrFormat("%s: cannot reserve %d bytes of address space: %s",
                                           name, reserve, std::strerror(errno)));
  }
  begin_ = cursor_ = committed_ = static_cast<char*>(base);
  reserved_ = begin_ + reserve;
  // An empty first chunk (capacity_slots 0) is committed at the first request, one page or more.
  next_chunk_bytes_ = first != 0 ? first : PageBytes();
  if (first != 0 && !commit_chunk(0)) {
    const int error = errno;
    release();
    throw PoolReserveError(absl::StrFormat("%s: cannot commit the first chunk of %d bytes: %s",
                                           name, first, std::strerror(error)));
  }
  if (!options.quiet && options.max_slots != 0 && options.warn_utilization > 0 &&
      std::isfinite(options.warn_utilization)) {
    warn_utilization_ = options.warn_utilization;
    const double threshold =
        std::ceil(options.warn_utilization * static_cast<double>(options.max_slots));
    warn_at_slots_ = threshold < 1.0 ? 1 : static_cast<std::uint64_t>(threshold);
  }
}

GrowingArena::~GrowingArena() { release(); }

GrowingArena::GrowingArena(GrowingArena&& other) noexcept
    : name_(other.name_),
      begin_(std::exchange(other.begin_, nullptr)),
      cursor_(std::exchange(other.cursor_, nullptr)),
      committed_(std::exchange(other.committed_, nullptr)),
      reserved_(std::exchange(other.reserved_, nullptr)),
      next_chunk_bytes_(std::exchange(other.next_chunk_bytes_, 0)),
      chunks_(std::exchange(other.chunks_, 0)),
      growth_factor_(other.growth_factor_),
      prefault_(other.prefault_),
      warn_at_slots_(other.warn_at_slots_),
      warn_utilization_(other.warn_utilization_),
      max_slots_(other.max_slots_) {}

GrowingArena& GrowingArena::operator=(GrowingArena&& other) noexcept {
  if (this != &other) {
    release();
    name_ = other.name_;
    begin_ = std::exchange(other.begin_, nullptr);
    cursor_ = std::exchange(other.cursor_, nullptr);
    committed_ = std::exchange(other.committed_, nullptr);
    reserved_ = std::exchange(other.reserved_, nullptr);
    next_chunk_bytes_ = std::exchange(other.next_chunk_bytes_, 0);
    chunks_ = std::exchange(other.chunks_, 0);
    growth_factor_ = other.growth_factor_;
    prefault_ = other.prefault_;
    warn_at_slots_ = other.warn_at_slots_;
    warn_utilization_ = other.warn_utilization_;
    max_slots_ = other.max_slots_;
  }
  return *this;
}

bool GrowingArena::commit_chunk(std::size_t size) {
  const auto tail = static_cast<std::size_t>(committed_ - cursor_);
  const std::size_t needed = RoundUpToPage(size - std::min(size, tail));
  std::size_t chunk = std::max(next_chunk_bytes_, needed);
  const auto left = static_cast<std::size_t>(reserved_ - committed_);
  if (chunk > left) chunk = left;  // the last chunk before the cap is what the cap leaves
  if (chunk == 0 || chunk < needed) return false;
  if (mprotect(committed_, chunk, PROT_READ | PROT_WRITE) != 0) return false;
  if (prefault_) {
    const std::size_t page = PageBytes();
    for (std::size_t offset = 0; offset < chunk; offset += page) {
      *static_cast<volatile char*>(committed_ + offset) = 0;
    }
  }
  committed_ += chunk;
  ++chunks_;
  const auto remaining = static_cast<std::size_t>(reserved_ - committed_);
  const double next = static_cast<double>(chunk) * growth_factor_;
  next_chunk_bytes_ = next >= static_cast<double>(remaining)
                          ? remaining
                          : RoundUpToPage(static_cast<std::size_t>(next));
  return true;
}

void GrowingArena::release() noexcept {
  if (begin_ != nullptr) munmap(begin_, static_cast<std::size_t>(reserved_ - begin_));
  begin_ = cursor_ = committed_ = reserved_ = nullptr;
  chunks_ = 0;
}

void GrowingArena::warn(AllocStats& stats) {
  warn_at_slots_ = std::numeric_limits<std::uint64_t>::max();  // once per pool
  stats.record_warning();
  std::cerr << absl::StrFormat(
      "warning: %s utilization reached %.0f%% of its cap (%d slots demanded of %d); past the cap "
      "it falls back\n",
      name_, 100.0 * warn_utilization_, stats.slots_demanded, max_slots_);
}

}  // namespace allocators
