// experiments/pool_exhaustion/measure.h: the measurements of the pool-exhaustion study, and nothing
// else (records.h turns them into result records; findings.h judges the records).
//
// The reference study filled a HAMT whose node arrays came from a bump pool of 8-byte slots with
// keys 0..N-1 (value i*10), queried every key, and read the pool's telemetry. MeasureCell does the
// same for one (policy, N, pool, fallback, seed) cell; policies come from allocators/registry.h by
// name, so a pool can fall back to any backend there. Every function here polls experiments::ThrowIfInterrupted()
// between chunks of work, so Ctrl-C is honoured within a second in every phase.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_MEASURE_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_MEASURE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "allocators/registry.h"
#include "allocators/stats.h"
#include "experiments/common/statistics.h"

namespace experiments::pool_exhaustion {

enum class Policy { kBumpPool, kSlotRecycler, kMalloc };

absl::string_view PolicyName(Policy policy);
std::optional<Policy> ParsePolicy(absl::string_view name);
inline bool HasPool(Policy policy) { return policy != Policy::kMalloc; }
// Every policy, in the order tables list them.
inline constexpr Policy kAllPolicies[] = {Policy::kBumpPool, Policy::kSlotRecycler,
                                          Policy::kMalloc};

// How a pool's pages are backed: touched lazily as the bump reaches them, all committed before the
// timed build (prefault), and/or advised onto transparent huge pages (huge). Finding 4 depends on
// it: a lazily touched pool pays a first-touch fault per fresh page that a fallback does not.
struct Pages {
  bool prefault = false;  // commit every pool page before the timed build
  bool huge = false;      // the pool asks for transparent huge pages (PoolOptions::huge_pages)
  friend bool operator==(const Pages&, const Pages&) = default;
};
// "lazy", "prefault", "huge", "huge_prefault" (schema: finding4_ratio.pages).
absl::string_view PagesName(Pages pages);
std::optional<Pages> ParsePages(absl::string_view name);
inline constexpr Pages kLazyPages{false, false};
inline constexpr Pages kPrefaultPages{true, false};
inline constexpr Pages kHugePages{false, true};
inline constexpr Pages kHugePrefaultPages{true, true};
inline constexpr Pages kAllPages[] = {kLazyPages, kPrefaultPages, kHugePages, kHugePrefaultPages};

struct Cell {
  Policy policy = Policy::kBumpPool;
  std::uint64_t n = 0;
  std::uint64_t pool_slots = 0;  // 0 for kMalloc
  Pages pages;                   // lazy for kMalloc
  std::uint64_t seed = 0;        // hash seed; 0 is the default hash
  // What serves the pool's fallbacks, by allocators/registry.h name ("malloc": the process's).
  std::string fallback{allocators::kDefaultFallback};
  friend bool operator==(const Cell&, const Cell&) = default;
};

struct Measurement {
  Cell cell;
  // Telemetry right after inserting the N keys (identical in every repetition; checked).
  allocators::AllocStats stats;
  std::vector<double> insert_ns;  // ns per key, one value per repetition
  std::vector<double> query_ns;
  long peak_rss_kb = 0;
  // Minor page faults during the timed inserts, per key, one value per repetition.
  std::vector<double> minor_faults_per_insert;
  // AnonHugePages (KiB) right after the first repetition's inserts; -1 when unreadable.
  std::int64_t anon_huge_kb = 0;
  std::string process_malloc;  // e.g. "glibc 2.36"
};

// Builds the map for `cell` `repetitions` times, queries every key and checks its value.
// Throws std::runtime_error on a wrong or missing value, or when the counts differ between
// repetitions (they are deterministic by construction); allocators::PoolReserveError when the pool
// cannot be reserved; experiments::Interrupted on Ctrl-C.
Measurement MeasureCell(const Cell& cell, int repetitions);
// The same for cells compared with each other (finding 4's pairs): repetition r of every cell, in
// turn, before repetition r + 1 of any, in alternating order, so that insert_ns[r] of one is
// comparable with insert_ns[r] of the others.
std::vector<Measurement> MeasureInterleaved(const std::vector<Cell>& cells, int repetitions);
// The cell MeasureInterleaved measures k-th (of `count`) in repetition `rep`: forward on even
// repetitions, backward on odd ones, so that a drift over a round (a warming cache, a neighbour's
// load) does not favour the cell that would always go first.
std::size_t InterleavedIndex(std::size_t k, std::size_t count, int rep);

// Inserts keys 0, 1, 2, ... into a map over a `pool_slots` pool until the first allocation falls
// back, and returns how many keys went in without any fallback (at most `limit`). Every build of
// 0..N-1 is a prefix of this one, so it is exactly the largest N the pool serves.
std::uint64_t LargestNWithoutFallback(Policy policy, std::uint64_t pool_slots, std::uint64_t limit,
                                      const std::string& fallback);

// The cost of one allocation of `block_bytes`, served by a bump (a pool with room) or by the
// fallback (a 0-slot pool, so every call falls back), in two patterns (schema: allocation_cost):
//   batch: `count` allocations in a row, then all freed (fresh memory every time: the study's case);
//   grow:  allocate a block, free the previous one (the map's pattern: an array grows by one entry),
//          which lets malloc hand the block just freed straight back.
// Returns ns per allocation, one value per repetition.
enum class CostPattern { kBatch, kGrow };
enum class ServedBy { kBump, kFallback };
std::vector<double> MeasureAllocationCost(CostPattern pattern, ServedBy served_by,
                                          std::size_t block_bytes, std::size_t count,
                                          int repetitions, const std::string& fallback);

using experiments::Median;

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_MEASURE_H_
