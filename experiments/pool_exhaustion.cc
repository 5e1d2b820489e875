#include "experiments/pool_exhaustion.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "allocators/bump_pool.h"
#include "allocators/malloc_policy.h"
#include "allocators/process_malloc.h"
#include "allocators/slot_recycler.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/stable_hash.h"
#include "hamt/hamt.h"

namespace experiments::pool_exhaustion {
namespace {

using Clock = std::chrono::steady_clock;

// StableHash, not absl::Hash: counts must be identical from one run to the next.
template <class Alloc>
using Int64Map =
    hamt::Map<std::int64_t, std::int64_t, StableHash, std::equal_to<std::int64_t>, Alloc>;

// Keeps the compiler from discarding a computed value.
void Consume(std::int64_t value) { asm volatile("" : : "r"(value) : "memory"); }

double NsPerKey(Clock::duration elapsed, std::uint64_t n) {
  return n == 0 ? 0.0
                : static_cast<double>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
                        static_cast<double>(n);
}

allocators::PoolOptions QuietPool(std::uint64_t slots, bool prefault = false) {
  // The experiment reports utilization in every row; 40 warning lines would drown the table.
  return {.capacity_slots = slots, .warn_utilization = 0.8, .quiet = true, .prefault = prefault};
}

// Calls fn(policy_object) with a fresh policy of the cell's kind.
template <class Fn>
decltype(auto) WithPolicy(Policy policy, std::uint64_t pool_slots, Fn&& fn, bool prefault = false) {
  switch (policy) {
    case Policy::kBumpPool:
      return fn(allocators::BumpPool(QuietPool(pool_slots, prefault)));
    case Policy::kSlotRecycler:
      return fn(allocators::SlotRecycler(QuietPool(pool_slots, prefault)));
    case Policy::kMalloc:
      break;
  }
  return fn(allocators::MallocPolicy());
}

struct Repetition {
  allocators::AllocStats stats;
  double insert_ns = 0;
  double query_ns = 0;
};

template <class Alloc>
Repetition RunOnce(Alloc alloc, std::uint64_t n) {
  Repetition result;
  const auto keys = static_cast<std::int64_t>(n);
  Int64Map<Alloc> map(std::move(alloc));
  const auto insert_start = Clock::now();
  for (std::int64_t i = 0; i < keys; ++i) map.insert_or_assign(i, i * 10);
  const auto insert_end = Clock::now();
  result.stats = map.allocator().stats();

  std::int64_t checksum = 0;
  const auto query_start = Clock::now();
  for (std::int64_t i = 0; i < keys; ++i) {
    const std::int64_t* value = map.find(i);
    if (value == nullptr || *value != i * 10) [[unlikely]] {
      throw std::runtime_error(absl::StrCat(
          "wrong value for key ", i, ": ", value == nullptr ? "missing" : std::to_string(*value),
          ", expected ", i * 10));
    }
    checksum += *value;
  }
  const auto query_end = Clock::now();
  Consume(checksum);
  if (map.size() != n) {
    throw std::runtime_error(absl::StrCat("map size ", map.size(), " after inserting ", n, " keys"));
  }
  result.insert_ns = NsPerKey(insert_end - insert_start, n);
  result.query_ns = NsPerKey(query_end - query_start, n);
  return result;
}

std::string FormatCount(double value) {
  // 1234567 -> "1,234,567"
  std::string digits = absl::StrFormat("%.0f", value);
  std::string out;
  const std::size_t start = digits[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatOptional(const std::optional<double>& value, int digits) {
  if (!value) return "-";
  return absl::StrFormat("%.*f", digits, *value);
}

double PredictedFallbackPct(const Row& row) {
  const double demand = static_cast<double>(row.stats.slots_demanded);
  if (demand <= static_cast<double>(row.cell.pool_slots) || demand == 0) return 0.0;
  return 100.0 * (1.0 - static_cast<double>(row.cell.pool_slots) / demand);
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
  for (Policy policy : {Policy::kBumpPool, Policy::kSlotRecycler, Policy::kMalloc}) {
    if (PolicyName(policy) == name) return policy;
  }
  return std::nullopt;
}

double Median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

double SlotsPerEntry(const Row& row) {
  return row.cell.n == 0 ? 0.0
                         : static_cast<double>(row.stats.slots_demanded) /
                               static_cast<double>(row.cell.n);
}

double BytesPerEntry(const Row& row) {
  return row.cell.n == 0 ? 0.0
                         : static_cast<double>(row.stats.live_bytes) /
                               static_cast<double>(row.cell.n);
}

Row MeasureCell(const Cell& cell, int repetitions, bool prefault) {
  if (repetitions < 1) throw std::invalid_argument("repetitions must be at least 1");
  Row row;
  row.cell = cell;
  for (int rep = 0; rep < repetitions; ++rep) {
    const Repetition result = WithPolicy(
        cell.policy, cell.pool_slots,
        [&](auto policy) { return RunOnce(std::move(policy), cell.n); }, prefault);
    if (rep == 0) {
      row.stats = result.stats;
    } else if (!(result.stats == row.stats)) {
      throw std::runtime_error(absl::StrCat(
          "allocation counts differ between repetitions for ", PolicyName(cell.policy),
          " n=", cell.n, " pool=", cell.pool_slots, ": the map is not deterministic"));
    }
    row.insert_ns.push_back(result.insert_ns);
    row.query_ns.push_back(result.query_ns);
  }
  row.peak_rss_kb = PeakRssKb();
  row.process_malloc = allocators::DetectProcessMalloc().NameAndVersion();
  return row;
}

std::uint64_t LargestNWithoutFallback(Policy policy, std::uint64_t pool_slots,
                                      std::uint64_t limit) {
  return WithPolicy(policy, pool_slots, [&](auto alloc) -> std::uint64_t {
    Int64Map<decltype(alloc)> map(std::move(alloc));
    for (std::uint64_t i = 0; i < limit; ++i) {
      const auto key = static_cast<std::int64_t>(i);
      map.insert_or_assign(key, key * 10);
      if (map.allocator().stats().fallback_allocations > 0) return i;
    }
    return limit;
  });
}

AllocationCost MeasureAllocationCost(std::size_t block_bytes, std::size_t count, int repetitions) {
  AllocationCost cost;
  cost.block_bytes = block_bytes;
  std::vector<void*> blocks(count);
  auto time_batch = [&](auto& policy) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < count; ++i) blocks[i] = policy.allocate(block_bytes);
    const auto elapsed = Clock::now() - start;
    for (void* block : blocks) policy.deallocate(block, block_bytes);
    return NsPerKey(elapsed, count);
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
    return NsPerKey(elapsed, count);
  };
  const std::uint64_t roomy_slots = allocators::SlotsFor(block_bytes) * (count + 1);
  std::vector<double> bump, fallback, bump_grow, fallback_grow;
  for (int rep = 0; rep < repetitions; ++rep) {
    // A fresh, untouched pool each time: first-touch page faults are part of a real bump's cost.
    allocators::BumpPool roomy(QuietPool(roomy_slots));
    bump.push_back(time_batch(roomy));
    allocators::BumpPool empty(QuietPool(0));
    fallback.push_back(time_batch(empty));
    allocators::BumpPool roomy_grow(QuietPool(roomy_slots));
    bump_grow.push_back(time_grow(roomy_grow));
    allocators::BumpPool empty_grow(QuietPool(0));
    fallback_grow.push_back(time_grow(empty_grow));
  }
  cost.bump_ns = Median(bump);
  cost.fallback_ns = Median(fallback);
  cost.bump_grow_ns = Median(bump_grow);
  cost.fallback_grow_ns = Median(fallback_grow);
  return cost;
}

// ---------------------------------------------------------------------------------------------
// Reference data

std::vector<ReferenceRow> ParseReference(absl::string_view csv_text) {
  std::vector<ReferenceRow> rows;
  std::vector<std::string> header;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(csv_text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = SplitCsvLine(line);
    if (header.empty()) {
      header = fields;
      continue;
    }
    if (fields.size() != header.size()) {
      throw std::runtime_error(absl::StrCat("reference CSV line ", line_number, ": expected ",
                                            header.size(), " fields, got ", fields.size()));
    }
    ReferenceRow row;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].empty()) continue;
      double value = 0;
      if (!absl::SimpleAtod(fields[i], &value)) {
        throw std::runtime_error(absl::StrCat("reference CSV line ", line_number, ": '", fields[i],
                                              "' is not a number"));
      }
      const std::string& name = header[i];
      if (name == "n") row.n = static_cast<std::uint64_t>(value);
      else if (name == "pool_slots") row.pool_slots = static_cast<std::uint64_t>(value);
      else if (name == "slots_demanded") row.slots_demanded = value;
      else if (name == "utilization_pct") row.utilization_pct = value;
      else if (name == "fallback_pct") row.fallback_pct = value;
      else if (name == "total_allocations") row.total_allocations = value;
      else if (name == "fallback_allocations") row.fallback_allocations = value;
      else if (name == "insert_ns_per_op") row.insert_ns = value;
      else if (name == "query_ns_per_op") row.query_ns = value;
    }
    rows.push_back(row);
  }
  return rows;
}

const ReferenceRow* FindReference(const std::vector<ReferenceRow>& reference, std::uint64_t n,
                                  std::uint64_t pool_slots) {
  for (const ReferenceRow& row : reference) {
    if (row.n == n && row.pool_slots == pool_slots) return &row;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Findings and sizing

double SizingModel::DemandSlots(std::uint64_t n) const {
  return fixed_slots + slots_per_entry * static_cast<double>(n);
}

std::uint64_t SizingModel::RecommendedSlots(std::uint64_t n, double headroom_pct) const {
  return static_cast<std::uint64_t>(std::ceil(DemandSlots(n) * (1.0 + headroom_pct / 100.0)));
}

namespace {

// Demand per distinct N for a policy, from rows whose demand is not distorted by exhaustion
// (for the bump pool demand does not depend on the pool; for the recycler, fallback blocks are not
// recycled, so only rows without fallback show its true demand).
std::map<std::uint64_t, std::uint64_t> UnconstrainedDemand(const std::vector<Row>& rows,
                                                           Policy policy) {
  std::map<std::uint64_t, std::uint64_t> demand;
  for (const Row& row : rows) {
    if (row.cell.policy != policy || row.cell.n == 0) continue;
    if (policy == Policy::kSlotRecycler && row.stats.fallback_allocations > 0) continue;
    demand[row.cell.n] = row.stats.slots_demanded;
  }
  return demand;
}

std::optional<SizingModel> FitModel(const std::vector<Row>& rows, Policy policy) {
  const auto demand = UnconstrainedDemand(rows, policy);
  if (demand.empty()) return std::nullopt;
  const double count = static_cast<double>(demand.size());
  double mean_n = 0, mean_d = 0;
  for (const auto& [n, d] : demand) {
    mean_n += static_cast<double>(n) / count;
    mean_d += static_cast<double>(d) / count;
  }
  double sxx = 0, sxy = 0, sum_nn = 0, sum_nd = 0;
  for (const auto& [n, d] : demand) {
    const double x = static_cast<double>(n), y = static_cast<double>(d);
    sxx += (x - mean_n) * (x - mean_n);
    sxy += (x - mean_n) * (y - mean_d);
    sum_nn += x * x;
    sum_nd += x * y;
  }
  SizingModel model;
  model.policy = policy;
  // An affine fit needs three points to have an error; with fewer, or a negative intercept, the
  // line goes through the origin.
  if (demand.size() >= 3 && sxx > 0 && mean_d - (sxy / sxx) * mean_n > 0) {
    model.slots_per_entry = sxy / sxx;
    model.fixed_slots = mean_d - model.slots_per_entry * mean_n;
  } else {
    model.slots_per_entry = sum_nd / sum_nn;
  }
  double residual_sq = 0;
  for (const auto& [n, d] : demand) {
    const double predicted = model.DemandSlots(n);
    const double residual = static_cast<double>(d) - predicted;
    residual_sq += residual * residual;
    model.max_deviation_pct =
        std::max(model.max_deviation_pct, 100.0 * std::abs(residual) / predicted);
  }
  const double parameters = model.fixed_slots > 0 ? 2.0 : 1.0;
  if (count > parameters) {
    const double variance = residual_sq / (count - parameters);
    model.slots_per_entry_stderr =
        std::sqrt(variance / (model.fixed_slots > 0 ? sxx : sum_nn));
  }
  return model;
}

const Row* FindRow(const std::vector<Row>& rows, Policy policy, std::uint64_t n,
                   std::uint64_t pool_slots) {
  for (const Row& row : rows) {
    if (row.cell == Cell{policy, n, pool_slots}) return &row;
  }
  return nullptr;
}

std::vector<std::uint64_t> DistinctPools(const std::vector<Row>& rows) {
  std::vector<std::uint64_t> pools;
  for (const Row& row : rows) {
    if (HasPool(row.cell.policy)) pools.push_back(row.cell.pool_slots);
  }
  std::sort(pools.begin(), pools.end());
  pools.erase(std::unique(pools.begin(), pools.end()), pools.end());
  return pools;
}

std::string Pct(double value) { return absl::StrFormat("%.1f%%", value); }

Finding DemandIsLinear(const std::vector<Row>& rows, const SizingModel* model,
                       const std::vector<ReferenceRow>& reference) {
  Finding finding{1, "Pool demand grows linearly with N", false, ""};
  if (!model) {
    finding.text = "no bump-pool rows measured";
    return finding;
  }
  std::vector<std::string> per_n;
  for (const auto& [n, d] : UnconstrainedDemand(rows, Policy::kBumpPool)) {
    std::string ref;
    for (const ReferenceRow& r : reference) {
      if (r.n == n && r.slots_demanded) {
        ref = absl::StrFormat(" (reference %.1f)", *r.slots_demanded / static_cast<double>(n));
      }
    }
    per_n.push_back(absl::StrFormat("N=%s: %.2f%s", FormatCount(static_cast<double>(n)),
                                    static_cast<double>(d) / static_cast<double>(n), ref));
  }
  // Linear growth is judged by the fit as a whole (R^2). Slots per entry itself wobbles with how
  // full the trie's levels are: with 32-way nodes, levels fill at 32, 1,024 and 32,768 entries.
  const auto demand = UnconstrainedDemand(rows, Policy::kBumpPool);
  double mean_d = 0;
  for (const auto& [n, d] : demand) mean_d += static_cast<double>(d) / static_cast<double>(demand.size());
  double total_sq = 0, residual_sq = 0;
  for (const auto& [n, d] : demand) {
    total_sq += (static_cast<double>(d) - mean_d) * (static_cast<double>(d) - mean_d);
    residual_sq += std::pow(static_cast<double>(d) - model->DemandSlots(n), 2);
  }
  const double r_squared = total_sq > 0 ? 1.0 - residual_sq / total_sq : 0.0;
  finding.reproduced = per_n.size() >= 3 && r_squared >= 0.99;
  finding.text = absl::StrFormat(
      "bump pool demand = %.0f + %.2f (+/- %.2f) slots per entry x N, R^2 = %.4f over %d sizes "
      "(criterion: R^2 >= 0.99 over at least 3 sizes). Slots per entry by N: %s; they vary by up "
      "to %.1f%% from the line as the trie's levels fill (32-way nodes). Reference: ~30 slots per "
      "entry (33,000 slots at 1K, 3,000,000 at 100K).",
      model->fixed_slots, model->slots_per_entry, model->slots_per_entry_stderr, r_squared,
      demand.size(), absl::StrJoin(per_n, "; "), model->max_deviation_pct);
  return finding;
}

Finding FallbackFollowsPrediction(const std::vector<Row>& rows, const Analysis& analysis,
                                  const std::vector<ReferenceRow>& reference) {
  Finding finding{2, "Past capacity, the fallback share follows 1 - capacity/demand", false, ""};
  std::vector<std::string> lines;
  double worst = 0;
  bool any_exhausted = false;
  for (const Row& row : rows) {
    if (row.cell.policy != Policy::kBumpPool) continue;
    const double predicted = PredictedFallbackPct(row);
    const double measured = allocators::FallbackPct(row.stats);
    any_exhausted |= predicted > 0;
    worst = std::max(worst, std::abs(predicted - measured));
    std::string ref;
    if (const ReferenceRow* r = FindReference(reference, row.cell.n, row.cell.pool_slots);
        r != nullptr && r->fallback_pct) {
      ref = absl::StrFormat(", reference %.0f%%", *r->fallback_pct);
    }
    lines.push_back(absl::StrFormat("N=%s pool=%s: predicted %s, measured %s%s",
                                    FormatCount(static_cast<double>(row.cell.n)),
                                    FormatCount(static_cast<double>(row.cell.pool_slots)),
                                    Pct(predicted), Pct(measured), ref));
  }
  finding.reproduced = any_exhausted && worst <= 5.0;
  // The prediction assumes every key demands the same number of slots. Where it misses, the keys
  // that fit before exhaustion demanded more (or less) per key than the average over the build.
  std::string early;
  for (const auto& c : analysis.capacities) {
    if (c.policy != Policy::kBumpPool || c.largest_n == 0) continue;
    absl::StrAppendFormat(&early, " The %s keys that fit in the %s-slot pool demanded %.1f slots "
                          "each.",
                          FormatCount(static_cast<double>(c.largest_n)),
                          FormatCount(static_cast<double>(c.pool_slots)),
                          static_cast<double>(c.pool_slots) / static_cast<double>(c.largest_n));
  }
  finding.text = absl::StrFormat(
      "largest gap between predicted and measured fallback share (of allocations): %.1f "
      "percentage points (criterion <= 5, with at least one exhausted pool). %s.%s",
      worst, absl::StrJoin(lines, "; "), early);
  return finding;
}

Finding SizedPoolHasNoFallback(const std::vector<Row>& rows, const Analysis& analysis,
                               const std::vector<ReferenceRow>& reference) {
  Finding finding{3, "A pool sized for the largest N has zero fallbacks", false, ""};
  const std::vector<std::uint64_t> pools = DistinctPools(rows);
  std::vector<std::string> lines;
  bool largest_pool_clean = false;
  if (!pools.empty()) {
    const std::uint64_t largest = pools.back();
    largest_pool_clean = true;
    for (const Row& row : rows) {
      if (row.cell.policy != Policy::kBumpPool || row.cell.pool_slots != largest) continue;
      largest_pool_clean &= row.stats.fallback_allocations == 0;
      std::string ref;
      if (const ReferenceRow* r = FindReference(reference, row.cell.n, largest);
          r != nullptr && r->utilization_pct) {
        ref = absl::StrFormat(" (reference %.1f%%)", *r->utilization_pct);
      }
      lines.push_back(absl::StrFormat(
          "N=%s: %s fallbacks at %s utilization%s", FormatCount(static_cast<double>(row.cell.n)),
          FormatCount(static_cast<double>(row.stats.fallback_allocations)),
          Pct(allocators::UtilizationPct(row.stats)), ref));
    }
    lines.insert(lines.begin(),
                 absl::StrFormat("bump pool of %s slots", FormatCount(static_cast<double>(largest))));
  }
  std::string verification = "not measured";
  bool verified = false;
  if (analysis.verification) {
    const Row& v = *analysis.verification;
    verified = v.stats.fallback_allocations == 0;
    verification = absl::StrFormat(
        "the recommended pool for N=%s (%s slots, %.0f%% headroom) had %s fallbacks at %s "
        "utilization",
        FormatCount(static_cast<double>(v.cell.n)), FormatCount(static_cast<double>(v.cell.pool_slots)),
        analysis.headroom_pct, FormatCount(static_cast<double>(v.stats.fallback_allocations)),
        Pct(allocators::UtilizationPct(v.stats)));
  }
  finding.reproduced = verified;
  finding.text = absl::StrFormat("%s. %s: %s. Reference: 4,194,304 slots, 0 fallbacks up to 100K "
                                 "at 0.8%% / 7.3%% / 35.7%% / 70.7%%.",
                                 verification, largest_pool_clean ? "Zero fallbacks in every row"
                                                                  : "Fallbacks remain",
                                 absl::StrJoin(lines, "; "));
  return finding;
}

// Insert and query time of the bump pool with the smallest pool (where fallbacks dominate, >= 50%)
// over the largest one (no fallback), per N.
struct PoolComparison {
  std::vector<std::string> lines;
  std::vector<double> insert_ratios, query_ratios;
  std::vector<std::uint64_t> ns;
};

PoolComparison CompareSmallAndLargePool(const std::vector<Row>& rows,
                                        const std::vector<ReferenceRow>& reference) {
  PoolComparison comparison;
  const std::vector<std::uint64_t> pools = DistinctPools(rows);
  if (pools.size() < 2) return comparison;
  const std::uint64_t small = pools.front(), large = pools.back();
  for (const Row& row : rows) {
    if (row.cell.policy != Policy::kBumpPool || row.cell.pool_slots != small) continue;
    if (allocators::FallbackPct(row.stats) < 50.0) continue;  // fallbacks do not dominate
    const Row* sized = FindRow(rows, Policy::kBumpPool, row.cell.n, large);
    if (sized == nullptr || sized->stats.fallback_allocations > 0) continue;
    const double insert_ratio = Median(row.insert_ns) / Median(sized->insert_ns);
    const double query_ratio = Median(row.query_ns) / Median(sized->query_ns);
    comparison.insert_ratios.push_back(insert_ratio);
    comparison.query_ratios.push_back(query_ratio);
    comparison.ns.push_back(row.cell.n);
    std::string ref;
    const ReferenceRow* rs = FindReference(reference, row.cell.n, small);
    const ReferenceRow* rl = FindReference(reference, row.cell.n, large);
    if (rs && rl && rs->insert_ns && rl->insert_ns && rs->query_ns && rl->query_ns) {
      ref = absl::StrFormat(" (reference insert x%.2f, query x%.2f)", *rs->insert_ns / *rl->insert_ns,
                            *rs->query_ns / *rl->query_ns);
    }
    comparison.lines.push_back(absl::StrFormat(
        "N=%s (%.0f%% fallback): insert %.1f vs %.1f ns = x%.2f, query %.1f vs %.1f ns = x%.2f%s",
        FormatCount(static_cast<double>(row.cell.n)), allocators::FallbackPct(row.stats),
        Median(row.insert_ns), Median(sized->insert_ns), insert_ratio, Median(row.query_ns),
        Median(sized->query_ns), query_ratio, ref));
  }
  return comparison;
}

Finding InsertsSlowQueriesDoNot(const std::vector<Row>& rows, const Analysis& analysis,
                                const std::vector<ReferenceRow>& reference) {
  Finding finding{4, "Inserts slow down when fallbacks dominate; queries do not", false, ""};
  const PoolComparison lazy = CompareSmallAndLargePool(rows, reference);
  if (lazy.insert_ratios.empty()) {
    finding.text = "no N where fallbacks dominate the smallest pool and the largest has none";
    return finding;
  }
  const double insert_median = Median(lazy.insert_ratios);
  const double query_median = Median(lazy.query_ratios);
  finding.reproduced = insert_median >= 1.10 && std::abs(query_median - 1.0) <= 0.15;
  finding.text = absl::StrFormat(
      "median insert ratio exhausted/sized pool x%.2f (criterion >= x1.10), median query ratio "
      "x%.2f (criterion within 15%% of 1). %s.",
      insert_median, query_median, absl::StrJoin(lazy.lines, "; "));
  if (const PoolComparison prefaulted = CompareSmallAndLargePool(analysis.prefaulted, reference);
      !prefaulted.insert_ratios.empty()) {
    absl::StrAppendFormat(
        &finding.text,
        " With every pool page committed before the build (--prefault): median insert ratio "
        "x%.2f, query x%.2f (%s).",
        Median(prefaulted.insert_ratios), Median(prefaulted.query_ratios),
        absl::StrJoin(prefaulted.lines, "; "));
  }
  if (insert_median < 1.10 || std::abs(query_median - 1.0) > 0.15) {
    finding.text +=
        " Where it differs: a fallback is a malloc that hands back the array the map has just "
        "freed (warm in cache; see finding 5's grow pattern), while a bump never reuses: every "
        "grown array is cold, first-touched memory (page faults, unless prefaulted), and the live "
        "nodes end up spread over all the slots ever demanded, which costs queries locality.";
  }
  return finding;
}

Finding FallbackCostsMore(const AllocationCost& cost) {
  Finding finding{5, "One fallback costs far more than one bump allocation", false, ""};
  if (cost.block_bytes == 0) {
    finding.text = "not measured";
    return finding;
  }
  const double ratio = cost.fallback_ns / cost.bump_ns;
  finding.reproduced = ratio >= 3.0;
  finding.text = absl::StrFormat(
      "measured directly on %d-byte blocks (the mean node array at the largest N), allocations in "
      "a row on fresh memory: bump %.2f ns, fallback to malloc %.2f ns, x%.1f (criterion >= x3). "
      "In the map's own pattern (allocate the grown array, free the old one) malloc hands the "
      "block just freed straight back: bump %.2f ns, fallback %.2f ns per allocate+free, x%.1f. "
      "Reference: ~2 ns vs ~150 ns (x75).",
      cost.block_bytes, cost.bump_ns, cost.fallback_ns, ratio, cost.bump_grow_ns,
      cost.fallback_grow_ns, cost.fallback_grow_ns / cost.bump_grow_ns);
  return finding;
}

Finding RecyclerServesLargerN(const std::vector<Row>& rows, const Analysis& analysis) {
  Finding finding{6, "The recycler's demand stays near the live size, so the same pool serves a "
                     "much larger N",
                  false, ""};
  // The ratio at the largest N decides: at small N, blocks parked on the free lists of sizes no
  // longer asked for are a fixed cost that dominates.
  double largest_n_ratio = 0;
  std::vector<std::string> lines;
  for (const auto& [n, demand] : UnconstrainedDemand(rows, Policy::kSlotRecycler)) {
    for (const Row& row : rows) {
      if (row.cell.policy != Policy::kSlotRecycler || row.cell.n != n ||
          row.stats.fallback_allocations > 0) {
        continue;
      }
      const double peak_live_slots = static_cast<double>(row.stats.peak_live_bytes) / 8.0;
      const double ratio = static_cast<double>(demand) / peak_live_slots;
      largest_n_ratio = ratio;
      const Row* bump = FindRow(rows, Policy::kBumpPool, n, row.cell.pool_slots);
      lines.push_back(absl::StrFormat(
          "N=%s: %s slots demanded for %s peak live (x%.2f)%s", FormatCount(static_cast<double>(n)),
          FormatCount(static_cast<double>(demand)), FormatCount(peak_live_slots), ratio,
          bump ? absl::StrFormat(", bump pool %s", FormatCount(static_cast<double>(bump->stats.slots_demanded)))
               : std::string()));
      break;
    }
  }
  std::vector<std::string> capacity_lines;
  double smallest_gain = std::numeric_limits<double>::infinity();
  for (const auto& recycler : analysis.capacities) {
    if (recycler.policy != Policy::kSlotRecycler) continue;
    for (const auto& bump : analysis.capacities) {
      if (bump.policy != Policy::kBumpPool || bump.pool_slots != recycler.pool_slots) continue;
      const double gain = static_cast<double>(recycler.largest_n) /
                          std::max<double>(1.0, static_cast<double>(bump.largest_n));
      smallest_gain = std::min(smallest_gain, gain);
      capacity_lines.push_back(absl::StrFormat(
          "pool %s: recycler %s%s vs bump %s keys without fallback (x%.1f)",
          FormatCount(static_cast<double>(recycler.pool_slots)),
          recycler.hit_limit ? ">= " : "", FormatCount(static_cast<double>(recycler.largest_n)),
          FormatCount(static_cast<double>(bump.largest_n)), gain));
    }
  }
  finding.reproduced = !lines.empty() && largest_n_ratio <= 1.5 && !capacity_lines.empty() &&
                       smallest_gain >= 2.0;
  finding.text = absl::StrFormat(
      "demand / peak live slots x%.2f at the largest N (criterion <= x1.5): %s. Largest N without "
      "fallback (criterion: recycler >= x2 bump): %s. Reference: recycling was recommended, not "
      "measured.",
      largest_n_ratio, absl::StrJoin(lines, "; "), absl::StrJoin(capacity_lines, "; "));
  return finding;
}

}  // namespace

Analysis Analyze(const std::vector<Row>& rows, const std::vector<ReferenceRow>& reference,
                 const AnalysisOptions& options) {
  Analysis analysis;
  analysis.headroom_pct = options.headroom_pct;
  for (Policy policy : {Policy::kBumpPool, Policy::kSlotRecycler}) {
    if (auto model = FitModel(rows, policy)) analysis.models.push_back(*model);
  }
  const SizingModel* bump_model = nullptr;
  for (const SizingModel& model : analysis.models) {
    if (model.policy == Policy::kBumpPool) bump_model = &model;
  }
  std::uint64_t largest_n = 0;
  const Row* largest_bump = nullptr;
  for (const Row& row : rows) {
    if (row.cell.policy == Policy::kBumpPool && row.cell.n >= largest_n) {
      largest_n = row.cell.n;
      largest_bump = &row;
    }
  }
  if (options.measure_extras) {
    for (std::uint64_t pool : DistinctPools(rows)) {
      for (Policy policy : {Policy::kBumpPool, Policy::kSlotRecycler}) {
        const std::uint64_t found =
            LargestNWithoutFallback(policy, pool, options.capacity_search_limit);
        analysis.capacities.push_back(
            {policy, pool, found, found == options.capacity_search_limit});
      }
    }
    if (bump_model != nullptr && largest_n > 0) {
      analysis.verification = MeasureCell(
          {Policy::kBumpPool, largest_n, bump_model->RecommendedSlots(largest_n, options.headroom_pct)},
          options.repetitions);
    }
    if (!options.prefault) {
      const std::vector<std::uint64_t> pools = DistinctPools(rows);
      for (std::uint64_t n : CompareSmallAndLargePool(rows, {}).ns) {
        for (std::uint64_t pool : {pools.front(), pools.back()}) {
          analysis.prefaulted.push_back(
              MeasureCell({Policy::kBumpPool, n, pool}, options.repetitions, /*prefault=*/true));
        }
      }
    }
    if (largest_bump != nullptr && largest_bump->stats.allocations > 0) {
      const std::size_t mean_block =
          allocators::SlotsFor(largest_bump->stats.bytes_allocated / largest_bump->stats.allocations) *
          allocators::kSlotBytes;
      analysis.allocation_cost = MeasureAllocationCost(mean_block, 200'000, options.repetitions);
    }
  }
  analysis.findings.push_back(DemandIsLinear(rows, bump_model, reference));
  analysis.findings.push_back(FallbackFollowsPrediction(rows, analysis, reference));
  analysis.findings.push_back(SizedPoolHasNoFallback(rows, analysis, reference));
  analysis.findings.push_back(InsertsSlowQueriesDoNot(rows, analysis, reference));
  analysis.findings.push_back(FallbackCostsMore(analysis.allocation_cost));
  analysis.findings.push_back(RecyclerServesLargerN(rows, analysis));
  return analysis;
}

// ---------------------------------------------------------------------------------------------
// Output

std::vector<std::string> CsvHeader() {
  return {"schema_version",   "policy",           "n",
          "pool_slots",       "allocations",      "frees",
          "fallback_allocations", "fallback_pct", "fallback_bytes",
          "slots_demanded",   "utilization_pct",  "high_water_slots",
          "slots_per_entry",  "live_bytes",       "bytes_per_entry",
          "peak_live_bytes",  "reused_allocations", "insert_ns_per_op",
          "query_ns_per_op",  "insert_ns_reps",   "query_ns_reps",
          "peak_rss_kb",      "process_malloc",   "bytes_allocated"};
}

namespace {
std::string JoinReps(const std::vector<double>& values) {
  return absl::StrJoin(values, ";", [](std::string* out, double v) {
    absl::StrAppend(out, absl::StrFormat("%.3f", v));
  });
}
std::string Fixed(double value, int digits) { return absl::StrFormat("%.*f", digits, value); }
}  // namespace

std::vector<std::string> CsvRow(const Row& row) {
  const allocators::AllocStats& s = row.stats;
  return {std::to_string(kSchemaVersion),
          std::string(PolicyName(row.cell.policy)),
          std::to_string(row.cell.n),
          std::to_string(row.cell.pool_slots),
          std::to_string(s.allocations),
          std::to_string(s.deallocations),
          std::to_string(s.fallback_allocations),
          Fixed(allocators::FallbackPct(s), 3),
          std::to_string(s.fallback_bytes),
          std::to_string(s.slots_demanded),
          HasPool(row.cell.policy) ? Fixed(allocators::UtilizationPct(s), 3) : "",
          std::to_string(s.high_water_slots),
          Fixed(SlotsPerEntry(row), 4),
          std::to_string(s.live_bytes),
          Fixed(BytesPerEntry(row), 3),
          std::to_string(s.peak_live_bytes),
          std::to_string(s.reused_allocations),
          Fixed(Median(row.insert_ns), 3),
          Fixed(Median(row.query_ns), 3),
          JoinReps(row.insert_ns),
          JoinReps(row.query_ns),
          std::to_string(row.peak_rss_kb),
          row.process_malloc,
          std::to_string(s.bytes_allocated)};
}

std::vector<Row> ParseCsv(absl::string_view csv_text) {
  std::vector<Row> rows;
  const std::vector<std::string> expected = CsvHeader();
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(csv_text, '\n')) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::vector<std::string> fields = SplitCsvLine(line);
    auto fail = [&](const std::string& why) {
      return std::runtime_error(absl::StrCat("line ", line_number, ": ", why));
    };
    if (line_number == 1) {
      if (fields != expected) throw fail("header does not match this version's columns");
      continue;
    }
    if (fields.size() != expected.size()) {
      throw fail(absl::StrCat("expected ", expected.size(), " fields, got ", fields.size()));
    }
    auto integer = [&](std::size_t column) {
      std::uint64_t value = 0;
      if (!absl::SimpleAtoi(fields[column], &value)) {
        throw fail(absl::StrCat(expected[column], ": '", fields[column], "' is not a whole number"));
      }
      return value;
    };
    auto reps = [&](std::size_t column) {
      std::vector<double> values;
      for (absl::string_view item : absl::StrSplit(fields[column], ';', absl::SkipEmpty())) {
        double value = 0;
        if (!absl::SimpleAtod(item, &value)) {
          throw fail(absl::StrCat(expected[column], ": '", item, "' is not a number"));
        }
        values.push_back(value);
      }
      return values;
    };
    Row row;
    const auto policy = ParsePolicy(fields[1]);
    if (!policy) throw fail(absl::StrCat("unknown policy '", fields[1], "'"));
    row.cell = {*policy, integer(2), integer(3)};
    row.stats.capacity_slots = row.cell.pool_slots;
    row.stats.allocations = integer(4);
    row.stats.deallocations = integer(5);
    row.stats.fallback_allocations = integer(6);
    row.stats.fallback_bytes = integer(8);
    row.stats.slots_demanded = integer(9);
    row.stats.high_water_slots = integer(11);
    row.stats.live_bytes = integer(13);
    row.stats.peak_live_bytes = integer(15);
    row.stats.reused_allocations = integer(16);
    row.insert_ns = reps(19);
    row.query_ns = reps(20);
    row.peak_rss_kb = static_cast<long>(integer(21));
    row.process_malloc = fields[22];
    row.stats.bytes_allocated = integer(23);
    row.stats.bytes_deallocated = row.stats.bytes_allocated - row.stats.live_bytes;
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::ordered_json ToJson(const std::vector<Row>& rows, const Analysis* analysis,
                              const nlohmann::ordered_json& metadata) {
  nlohmann::ordered_json json;
  json["metadata"] = metadata;
  json["rows"] = nlohmann::ordered_json::array();
  const std::vector<std::string> header = CsvHeader();
  for (const Row& row : rows) {
    const std::vector<std::string> fields = CsvRow(row);
    nlohmann::ordered_json object;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string& name = header[i];
      if (name == "policy" || name == "process_malloc" || name == "insert_ns_reps" ||
          name == "query_ns_reps") {
        object[name] = fields[i];
      } else if (fields[i].empty()) {
        object[name] = nullptr;
      } else {
        object[name] = std::stod(fields[i]);
      }
    }
    object["insert_ns_reps"] = row.insert_ns;
    object["query_ns_reps"] = row.query_ns;
    json["rows"].push_back(object);
  }
  if (analysis != nullptr) {
    json["findings"] = nlohmann::ordered_json::array();
    for (const Finding& f : analysis->findings) {
      json["findings"].push_back(
          {{"id", f.id}, {"title", f.title}, {"reproduced", f.reproduced}, {"text", f.text}});
    }
    nlohmann::ordered_json sizing;
    sizing["headroom_pct"] = analysis->headroom_pct;
    for (const SizingModel& m : analysis->models) {
      sizing["slots_per_entry"][std::string(PolicyName(m.policy))] = m.slots_per_entry;
      sizing["slots_per_entry_stderr"][std::string(PolicyName(m.policy))] = m.slots_per_entry_stderr;
      sizing["max_deviation_pct"][std::string(PolicyName(m.policy))] = m.max_deviation_pct;
      sizing["fixed_slots"][std::string(PolicyName(m.policy))] = m.fixed_slots;
    }
    std::vector<std::uint64_t> ns;
    for (const Row& row : rows) ns.push_back(row.cell.n);
    std::sort(ns.begin(), ns.end());
    ns.erase(std::unique(ns.begin(), ns.end()), ns.end());
    sizing["recommended_pool_slots"] = nlohmann::ordered_json::array();
    for (std::uint64_t n : ns) {
      nlohmann::ordered_json entry{{"n", n}};
      for (const SizingModel& m : analysis->models) {
        entry[std::string(PolicyName(m.policy))] = m.RecommendedSlots(n, analysis->headroom_pct);
      }
      sizing["recommended_pool_slots"].push_back(entry);
    }
    sizing["max_n_without_fallback"] = nlohmann::ordered_json::array();
    std::map<std::uint64_t, nlohmann::ordered_json> by_pool;
    for (const auto& c : analysis->capacities) {
      auto& entry = by_pool[c.pool_slots];
      entry["pool_slots"] = c.pool_slots;
      entry[std::string(PolicyName(c.policy))] = c.largest_n;
      if (c.hit_limit) entry[absl::StrCat(PolicyName(c.policy), "_is_lower_bound")] = true;
    }
    for (auto& [pool, entry] : by_pool) sizing["max_n_without_fallback"].push_back(entry);
    json["sizing"] = sizing;
    json["allocation_cost"] = {{"block_bytes", analysis->allocation_cost.block_bytes},
                               {"bump_ns", analysis->allocation_cost.bump_ns},
                               {"fallback_ns", analysis->allocation_cost.fallback_ns},
                               {"bump_grow_ns", analysis->allocation_cost.bump_grow_ns},
                               {"fallback_grow_ns", analysis->allocation_cost.fallback_grow_ns}};
  }
  return json;
}

std::string FormatTable(const std::vector<Row>& rows, const std::vector<ReferenceRow>& reference) {
  std::string out;
  absl::StrAppendFormat(
      &out, "%-13s %10s %10s | %11s %11s | %9s %8s | %8s %8s %6s | %21s | %8s %6s | %7s %6s\n",
      "policy", "N", "pool", "demand", "ref", "util", "ref", "fallback", "predict", "ref",
      "fallbacks/allocations", "insert", "ref", "query", "ref");
  absl::StrAppendFormat(&out, "%-13s %10s %10s | %11s %11s | %9s %8s | %8s %8s %6s | %21s | %8s %6s | %7s %6s\n",
                        "", "keys", "slots", "slots", "slots", "%", "%", "%", "%", "%", "",
                        "ns/op", "ns/op", "ns/op", "ns/op");
  out += std::string(170, '-') + "\n";
  for (const Row& row : rows) {
    const ReferenceRow* ref = row.cell.policy == Policy::kBumpPool
                                  ? FindReference(reference, row.cell.n, row.cell.pool_slots)
                                  : nullptr;
    auto ref_value = [&](auto member, int digits) -> std::string {
      if (ref == nullptr) return "-";
      return FormatOptional(ref->*member, digits);
    };
    const bool pool = HasPool(row.cell.policy);
    absl::StrAppendFormat(
        &out, "%-13s %10s %10s | %11s %11s | %9s %8s | %8s %8s %6s | %21s | %8.1f %6s | %7.1f %6s\n",
        PolicyName(row.cell.policy), FormatCount(static_cast<double>(row.cell.n)),
        pool ? FormatCount(static_cast<double>(row.cell.pool_slots)) : "-",
        FormatCount(static_cast<double>(row.stats.slots_demanded)),
        ref && ref->slots_demanded ? FormatCount(*ref->slots_demanded) : "-",
        pool ? absl::StrFormat("%.1f", allocators::UtilizationPct(row.stats)) : "-",
        ref_value(&ReferenceRow::utilization_pct, 1),
        absl::StrFormat("%.1f", allocators::FallbackPct(row.stats)),
        row.cell.policy == Policy::kBumpPool ? absl::StrFormat("%.1f", PredictedFallbackPct(row))
                                             : "-",
        ref_value(&ReferenceRow::fallback_pct, 0),
        absl::StrCat(FormatCount(static_cast<double>(row.stats.fallback_allocations)), " / ",
                     FormatCount(static_cast<double>(row.stats.allocations))),
        Median(row.insert_ns), ref_value(&ReferenceRow::insert_ns, 0), Median(row.query_ns),
        ref_value(&ReferenceRow::query_ns, 0));
  }
  out +=
      "demand: fresh slots requested (incl. fallbacks); predict: 1 - capacity/demand; ref: the "
      "reference study (Apple M4 Pro, Mojo HAMT, ~30 slots/entry), bump pool only; '-': not "
      "reported.\n";
  return out;
}

std::string FormatFindings(const Analysis& analysis) {
  std::string out = "\nFindings\n";
  int reproduced = 0;
  for (const Finding& f : analysis.findings) {
    reproduced += f.reproduced;
    absl::StrAppendFormat(&out, "  %d. [%s] %s\n     %s\n", f.id,
                          f.reproduced ? "reproduced" : "NOT reproduced", f.title, f.text);
  }
  absl::StrAppendFormat(&out, "  %d of %d findings reproduced.\n", reproduced,
                        analysis.findings.size());

  out += "\nSizing\n";
  for (const SizingModel& m : analysis.models) {
    absl::StrAppendFormat(&out,
                          "  %-13s demand = %.0f + %.2f (+/- %.2f stderr) slots per entry x N; "
                          "measured N within %.1f%% of the model\n",
                          PolicyName(m.policy), m.fixed_slots, m.slots_per_entry,
                          m.slots_per_entry_stderr, m.max_deviation_pct);
  }
  if (!analysis.models.empty()) {
    absl::StrAppendFormat(&out, "  recommended pool (model demand x %.2f headroom):\n",
                          1.0 + analysis.headroom_pct / 100.0);
    for (std::uint64_t n : {1'000ULL, 10'000ULL, 50'000ULL, 100'000ULL, 1'000'000ULL, 10'000'000ULL}) {
      std::string line = absl::StrFormat("    N=%-12s", FormatCount(static_cast<double>(n)));
      for (const SizingModel& m : analysis.models) {
        absl::StrAppendFormat(&line, " %s %14s slots", PolicyName(m.policy),
                              FormatCount(static_cast<double>(m.RecommendedSlots(n, analysis.headroom_pct))));
      }
      out += line + "\n";
    }
  }
  if (!analysis.capacities.empty()) {
    out += "  largest N without fallback (measured):\n";
    for (const auto& c : analysis.capacities) {
      absl::StrAppendFormat(&out, "    pool %12s slots  %-13s %s%s keys\n",
                            FormatCount(static_cast<double>(c.pool_slots)), PolicyName(c.policy),
                            c.hit_limit ? ">= " : "", FormatCount(static_cast<double>(c.largest_n)));
    }
  }
  return out;
}

}  // namespace experiments::pool_exhaustion
