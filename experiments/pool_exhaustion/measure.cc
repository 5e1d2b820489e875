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

allocators::PolicyOptions Options(std::uint64_t slots, bool prefault, bool huge_pages,
                                  const std::string& fallback) {
  allocators::PolicyOptions options;
  // The experiment reports utilization in every row; 40 warning lines would drown the table.
  options.pool = {.capacity_slots = slots, .warn_utilization = 0.8, .quiet = true,
                  .prefault = prefault, .huge_pages = huge_pages};
  options.fallback = fallback;
  return options;
}

// Calls fn(policy_object) with a fresh policy of the cell's kind (allocators/registry.h).
template <class Fn>
decltype(auto) WithPolicy(Policy policy, std::uint64_t pool_slots, bool prefault, bool huge_pages,
                          const std::string& fallback, Fn&& fn) {
  const absl::string_view name = PolicyName(policy);
  return allocators::WithPolicy(std::string_view(name.data(), name.size()),
                                Options(pool_slots, prefault, huge_pages, fallback),
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

Measurement MeasureCell(const Cell& cell, int repetitions) {
  if (repetitions < 1) throw std::invalid_argument("repetitions must be at least 1");
  Measurement m;
  m.cell = cell;
  for (int rep = 0; rep < repetitions; ++rep) {
    const Repetition result =
        WithPolicy(cell.policy, cell.pool_slots, cell.prefault, cell.huge_pages, cell.fallback,
                   [&](auto policy) { return RunOnce(std::move(policy), cell.n, cell.seed); });
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
  m.peak_rss_kb = PeakRssKb();
  m.process_malloc = allocators::DetectProcessMalloc().NameAndVersion();
  return m;
}

std::uint64_t LargestNWithoutFallback(Policy policy, std::uint64_t pool_slots, std::uint64_t limit,
                                      const std::string& fallback) {
  return WithPolicy(policy, pool_slots, /*prefault=*/false, /*huge_pages=*/false, fallback,
                    [&](auto alloc) -> std::uint64_t {
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
    ns.push_back(WithPolicy(Policy::kBumpPool, slots, false, false, fallback, [&](auto pool) {
      return pattern == CostPattern::kBatch ? time_batch(pool) : time_grow(pool);
    }));
  }
  return ns;
}

}  // namespace experiments::pool_exhaustion
