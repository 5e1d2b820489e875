#include "experiments/pool_exhaustion/measure.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/process_memory.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/stable_hash.h"
#include "experiments/common/study_map.h"
#include "experiments/common/workload_keys.h"
#include "hamt/hamt.h"

namespace experiments::pool_exhaustion {
namespace {

using Clock = std::chrono::steady_clock;

// Keys are inserted and queried in chunks of this many, with an interrupt check between chunks:
// at most ~20 ms of work at 10M keys, and nothing added inside the timed inner loops.
constexpr std::int64_t kChunk = 1 << 16;

// Keeps the compiler from discarding a computed value.
void Consume(std::int64_t value) { asm volatile("" : : "r"(value) : "memory"); }

double NsPer(Clock::duration elapsed, std::uint64_t count) {
  return count == 0 ? 0.0
                    : static_cast<double>(
                          std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
                          static_cast<double>(count);
}

// Calls fn(policy_object) with a fresh policy of the cell's kind, pool, pages and fallback
// (allocators/registry.h); n and seed are not the policy's business.
template <class Fn>
decltype(auto) WithPolicy(const Cell& cell, Fn&& fn) {
  allocators::PolicyOptions options;
  // The experiment reports utilization in every row; 40 warning lines would drown the table.
  options.pool = {.capacity_slots = cell.pool_slots, .warn_utilization = 0.8, .quiet = true,
                  .prefault = cell.pages.prefault, .huge_pages = cell.pages.huge};
  options.fallback = cell.fallback;
  const absl::string_view name = PolicyName(cell.policy);
  return allocators::WithPolicy(std::string_view(name.data(), name.size()), options,
                                std::forward<Fn>(fn));
}

struct Repetition {
  allocators::AllocStats stats;
  double insert_ns = 0;
  double query_ns = 0;
  double minor_faults_per_insert = 0;
  std::int64_t anon_huge_kb = 0;  // after the inserts, the map alive
};

template <class Alloc>
Repetition RunOnce(Alloc alloc, std::uint64_t n, std::uint64_t seed) {
  Repetition result;
  const auto keys = static_cast<std::int64_t>(n);
  StudyMap<Alloc> map(StableHash{seed}, std::equal_to<std::int64_t>(), std::move(alloc));
  Clock::duration insert_time{};
  std::int64_t faults = 0;
  for (std::int64_t begin = 0; begin < keys; begin += kChunk) {
    ThrowIfInterrupted();
    const std::int64_t end = std::min(keys, begin + kChunk);
    const std::int64_t faults_before = MinorFaults();
    const auto start = Clock::now();
    for (std::int64_t i = begin; i < end; ++i) map.insert_or_assign(i, StudyValue(i));
    insert_time += Clock::now() - start;
    faults += MinorFaults() - faults_before;
  }
  result.stats = map.allocator().stats();
  result.minor_faults_per_insert =
      keys == 0 ? 0.0 : static_cast<double>(faults) / static_cast<double>(keys);
  result.anon_huge_kb = AnonHugePagesKb();

  std::int64_t checksum = 0;
  Clock::duration query_time{};
  for (std::int64_t begin = 0; begin < keys; begin += kChunk) {
    ThrowIfInterrupted();
    const std::int64_t end = std::min(keys, begin + kChunk);
    const auto start = Clock::now();
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t* value = map.find(i);
      if (value == nullptr || *value != StudyValue(i)) [[unlikely]] {
        throw std::runtime_error(absl::StrCat(
            "wrong value for key ", i, ": ", value == nullptr ? "missing" : std::to_string(*value),
            ", expected ", StudyValue(i)));
      }
      checksum += *value;
    }
    query_time += Clock::now() - start;
  }
  Consume(checksum);
  if (map.size() != n) {
    throw std::runtime_error(absl::StrCat("map size ", map.size(), " after inserting ", n, " keys"));
  }
  result.insert_ns = NsPer(insert_time, n);
  result.query_ns = NsPer(query_time, n);
  return result;
}

}  // namespace

absl::string_view PolicyName(Policy policy) {
  switch (policy) {
    case Policy::kBumpPool:
      return "bump_pool";
    case Policy::kSlotRecycler:
      return "slot_recycler";
    case Policy::kMalloc:
      return "malloc";
  }
  return "unknown";
}

std::optional<Policy> ParsePolicy(absl::string_view name) {
  for (Policy policy : kAllPolicies) {
    if (PolicyName(policy) == name) return policy;
  }
  return std::nullopt;
}

absl::string_view PagesName(Pages pages) {
  if (pages.huge) return pages.prefault ? "huge_prefault" : "huge";
  return pages.prefault ? "prefault" : "lazy";
}

std::optional<Pages> ParsePages(absl::string_view name) {
  for (Pages pages : kAllPages) {
    if (PagesName(pages) == name) return pages;
  }
  return std::nullopt;
}

std::vector<Measurement> MeasureInterleaved(const std::vector<Cell>& cells, int repetitions) {
  if (repetitions < 1) throw std::invalid_argument("repetitions must be at least 1");
  std::vector<Measurement> out(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) out[i].cell = cells[i];
  for (int rep = 0; rep < repetitions; ++rep) {
    for (std::size_t k = 0; k < cells.size(); ++k) {
      const std::size_t i = InterleavedIndex(k, cells.size(), rep);
      const Cell& cell = cells[i];
      Measurement& m = out[i];
      const Repetition result = WithPolicy(
          cell, [&](auto policy) { return RunOnce(std::move(policy), cell.n, cell.seed); });
      if (rep == 0) {
        m.stats = result.stats;
        m.anon_huge_kb = result.anon_huge_kb;
      } else if (!(result.stats == m.stats)) {
        throw std::runtime_error(absl::StrCat(
            "allocation counts differ between repetitions for ", PolicyName(cell.policy),
            " n=", cell.n, " pool=", cell.pool_slots, ": the map is not deterministic"));
      }
      m.insert_ns.push_back(result.insert_ns);
      m.query_ns.push_back(result.query_ns);
      m.minor_faults_per_insert.push_back(result.minor_faults_per_insert);
    }
  }
  const long peak_rss_kb = PeakRssKb();
  const std::string process_malloc = allocators::DetectProcessMalloc().NameAndVersion();
  for (Measurement& m : out) {
    m.peak_rss_kb = peak_rss_kb;
    m.process_malloc = process_malloc;
  }
  return out;
}

std::size_t InterleavedIndex(std::size_t k, std::size_t count, int rep) {
  return rep % 2 == 0 ? k : count - 1 - k;
}

Measurement MeasureCell(const Cell& cell, int repetitions) {
  return std::move(MeasureInterleaved({cell}, repetitions).front());
}

std::uint64_t LargestNWithoutFallback(Policy policy, std::uint64_t pool_slots, std::uint64_t limit,
                                      const std::string& fallback) {
  const Cell cell{policy, 0, pool_slots, kLazyPages, 0, fallback};
  return WithPolicy(cell, [&](auto alloc) -> std::uint64_t {
    StudyMap<decltype(alloc)> map(std::move(alloc));
    for (std::uint64_t i = 0; i < limit; ++i) {
      if (i % kChunk == 0) ThrowIfInterrupted();
      const auto key = static_cast<std::int64_t>(i);
      map.insert_or_assign(key, StudyValue(key));
      if (map.allocator().stats().fallback_allocations > 0) return i;
    }
    return limit;
  });
}

std::vector<double> MeasureAllocationCost(CostPattern pattern, ServedBy served_by,
                                          std::size_t block_bytes, std::size_t count,
                                          int repetitions, const std::string& fallback) {
  std::vector<void*> blocks(count);
  auto time_batch = [&](auto& policy) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < count; ++i) blocks[i] = policy.allocate(block_bytes);
    const auto elapsed = Clock::now() - start;
    for (void* block : blocks) policy.deallocate(block, block_bytes);
    return NsPer(elapsed, count);
  };
  auto time_grow = [&](auto& policy) {
    void* previous = policy.allocate(block_bytes);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
      void* next = policy.allocate(block_bytes);
      policy.deallocate(previous, block_bytes);
      previous = next;
    }
    const auto elapsed = Clock::now() - start;
    policy.deallocate(previous, block_bytes);
    return NsPer(elapsed, count);
  };
  // Room for every block: a bump never falls back; 0 slots: every allocation falls back.
  const std::uint64_t slots =
      served_by == ServedBy::kBump ? allocators::SlotsFor(block_bytes) * (count + 1) : 0;
  std::vector<double> ns;
  for (int rep = 0; rep < repetitions; ++rep) {
    ThrowIfInterrupted();
    // A fresh, untouched pool each time: first-touch page faults are part of a real bump's cost.
    const Cell cell{Policy::kBumpPool, 0, slots, kLazyPages, 0, fallback};
    ns.push_back(WithPolicy(cell, [&](auto pool) {
      return pattern == CostPattern::kBatch ? time_batch(pool) : time_grow(pool);
    }));
  }
  return ns;
}

}  // namespace experiments::pool_exhaustion
