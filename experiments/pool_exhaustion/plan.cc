#include "experiments/pool_exhaustion/plan.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "allocators/stats.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/process_memory.h"
#include "experiments/pool_exhaustion/sizing.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;

constexpr double kMaxSlotsPerKey = 32;       // measured 17-25 with this trie and hash
constexpr double kMaxOverheadPerKey = 64;    // map live bytes (~22) plus malloc's headers and slack
constexpr double kGiB = 1024.0 * 1024 * 1024;

double PhysicalBytes() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Address space this process may still map (RLIMIT_AS minus what is mapped now), or infinity.
double AddressSpaceLeft() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<double>::infinity();
  }
  return static_cast<double>(limit.rlim_cur) -
         static_cast<double>(experiments::ReadStatm().mapped_bytes);
}

struct Need {
  double touched = 0;   // bytes written: resident at the end
  double reserved = 0;  // address space: touched heap plus the whole pool reservation
  std::string what;
  std::string flag;     // the flag to blame: the one whose value makes this need large
};

Need CellNeed(Policy policy, double n, double pool_slots, const std::string& what) {
  Need need{kMaxOverheadPerKey * n, kMaxOverheadPerKey * n, what, "n"};
  if (HasPool(policy)) {
    need.touched += 8.0 * std::min(pool_slots, kMaxSlotsPerKey * n);
    need.reserved += 8.0 * pool_slots;
    if (8.0 * pool_slots > kMaxOverheadPerKey * n) need.flag = "pools";
  }
  return need;
}

std::string List(const std::vector<std::uint64_t>& values) { return absl::StrJoin(values, ","); }

}  // namespace

nlohmann::ordered_json Config::ToJson() const {
  std::vector<std::string> names;
  for (Policy p : policies) names.emplace_back(PolicyName(p));
  return {{"mode", mode},
          {"shard", shard},
          {"n", List(ns)},
          {"pools", List(pools)},
          {"policies", absl::StrJoin(names, ",")},
          {"fallback", fallback},
          {"seeds", seeds},
          {"repetitions", repetitions},
          {"prefault", pages.prefault},
          {"huge_pages", pages.huge},
          {"finding4_fallbacks", absl::StrJoin(finding4_fallbacks, ",")},
          {"finding4_pages", absl::StrJoin(finding4_pages, ",", [](std::string* out, Pages p) {
             absl::StrAppend(out, PagesName(p));
           })},
          {"headroom", headroom_pct},
          {"capacity_search_limit", capacity_search_limit},
          {"jobs", jobs},
          {"process_malloc", process_malloc},
          {"binary", binary}};
}

Config ConfigFromJson(const nlohmann::ordered_json& json) {
  auto get = [&](const char* key) -> const nlohmann::ordered_json& {
    if (!json.is_object() || !json.contains(key)) {
      throw SchemaError(absl::StrCat("config: no setting '", key, "'"));
    }
    return json.at(key);
  };
  auto counts = [&](const char* key) {
    std::vector<std::uint64_t> values;
    for (absl::string_view v : absl::StrSplit(get(key).get<std::string>(), ',', absl::SkipEmpty())) {
      std::uint64_t value = 0;
      if (!absl::SimpleAtoi(v, &value)) throw SchemaError(absl::StrCat("config: bad ", key));
      values.push_back(value);
    }
    return values;
  };
  try {
    Config c;
    c.mode = get("mode").get<std::string>();
    c.shard = get("shard").get<std::string>();
    c.ns = counts("n");
    c.pools = counts("pools");
    for (absl::string_view name : absl::StrSplit(get("policies").get<std::string>(), ',',
                                                 absl::SkipEmpty())) {
      const std::optional<Policy> policy = ParsePolicy(name);
      if (!policy) throw SchemaError(absl::StrCat("config: unknown policy '", name, "'"));
      c.policies.push_back(*policy);
    }
    c.fallback = get("fallback").get<std::string>();
    c.seeds = get("seeds").get<int>();
    c.repetitions = get("repetitions").get<int>();
    c.pages = Pages{get("prefault").get<bool>(), get("huge_pages").get<bool>()};
    for (absl::string_view name : absl::StrSplit(get("finding4_fallbacks").get<std::string>(), ',',
                                                 absl::SkipEmpty())) {
      c.finding4_fallbacks.emplace_back(name);
    }
    for (absl::string_view name : absl::StrSplit(get("finding4_pages").get<std::string>(), ',',
                                                 absl::SkipEmpty())) {
      const std::optional<Pages> pages = ParsePages(name);
      if (!pages) throw SchemaError(absl::StrCat("config: unknown pages '", name, "'"));
      c.finding4_pages.push_back(*pages);
    }
    c.headroom_pct = get("headroom").get<double>();
    c.capacity_search_limit = get("capacity_search_limit").get<std::uint64_t>();
    c.jobs = get("jobs").get<int>();
    c.process_malloc = get("process_malloc").get<std::string>();
    c.binary = get("binary").get<std::string>();
    return c;
  } catch (const nlohmann::json::exception& error) {
    throw SchemaError(absl::StrCat("config: ", error.what()));
  }
}

std::vector<Cell> GridCells(const Config& config) {
  std::vector<Cell> cells;
  // Seed 0 of every cell first (the timed ones, in table order), then the other seeds.
  for (int seed = 0; seed < config.seeds; ++seed) {
    for (std::uint64_t n : config.ns) {
      for (Policy policy : config.policies) {
        if (!HasPool(policy)) {
          if (seed == 0) cells.push_back({policy, n, 0, kLazyPages, 0, config.fallback});
          continue;
        }
        for (std::uint64_t pool : config.pools) {
          cells.push_back({policy, n, pool, config.pages, static_cast<std::uint64_t>(seed),
                           config.fallback});
        }
      }
    }
  }
  return cells;
}

int RepetitionsFor(const Cell& cell, int repetitions) { return cell.seed == 0 ? repetitions : 1; }

std::optional<Cell> VerificationCell(const std::vector<CellRecord>& rows, double headroom_pct,
                                     const Predictor& predictor) {
  const CellRecord* largest = nullptr;
  for (const CellRecord& r : rows) {
    if (r.Str(F::kRole) == kGrid && PolicyOf(r) == Policy::kBumpPool &&
        (largest == nullptr || r.Count(F::kN) > largest->Count(F::kN))) {
      largest = &r;
    }
  }
  if (largest == nullptr) return std::nullopt;
  const std::uint64_t n = largest->Count(F::kN);
  return Cell{Policy::kBumpPool, n, predictor.RecommendedSlots(Policy::kBumpPool, n, headroom_pct),
              largest->Bool(F::kHugePages) ? kHugePages : kLazyPages, 0, largest->Str(F::kFallback)};
}

std::vector<CapacitySearch> CapacitySearches(const Config& config) {
  const auto has = [&](Policy p) {
    return std::find(config.policies.begin(), config.policies.end(), p) != config.policies.end();
  };
  std::vector<std::uint64_t> pools = config.pools;
  std::sort(pools.begin(), pools.end());
  std::vector<CapacitySearch> searches;
  for (std::uint64_t pool : pools) {
    if (has(Policy::kBumpPool)) searches.push_back({Policy::kBumpPool, pool});
    if (has(Policy::kSlotRecycler)) searches.push_back({Policy::kSlotRecycler, pool});
  }
  return searches;
}

std::optional<std::size_t> CostBlockBytes(const std::vector<CellRecord>& rows) {
  const CellRecord* largest = nullptr;
  for (const CellRecord& r : rows) {
    if (r.Str(F::kRole) == kGrid && PolicyOf(r) == Policy::kBumpPool &&
        r.Count(F::kAllocations) > 0 && (largest == nullptr || r.Count(F::kN) > largest->Count(F::kN))) {
      largest = &r;
    }
  }
  if (largest == nullptr) return std::nullopt;
  const std::size_t mean = largest->Count(F::kBytesAllocated) / largest->Count(F::kAllocations);
  return allocators::SlotsFor(mean) * allocators::kSlotBytes;
}

void CheckMemory(const Config& config) {
  CheckMemory(config, GridCells(config), CapacitySearches(config), /*whole_run=*/true);
}

void CheckMemory(const Config& config, const std::vector<Cell>& cells,
                 const std::vector<CapacitySearch>& searches, bool whole_run) {
  std::vector<Need> needs;
  for (const Cell& cell : cells) {
    needs.push_back(CellNeed(cell.policy, static_cast<double>(cell.n),
                             static_cast<double>(cell.pool_slots),
                             absl::StrFormat("the cell %s N=%s pool=%s", PolicyName(cell.policy),
                                             FormatCount(cell.n), FormatCount(cell.pool_slots))));
  }
  const bool has_bump = std::count(config.policies.begin(), config.policies.end(),
                                   Policy::kBumpPool) > 0;
  if (whole_run && has_bump && !config.ns.empty()) {
    const double n = static_cast<double>(*std::max_element(config.ns.begin(), config.ns.end()));
    const double pool = std::ceil(kMaxSlotsPerKey * n * (1 + config.headroom_pct / 100));
    needs.push_back(CellNeed(Policy::kBumpPool, n, pool,
                             absl::StrFormat("finding 3's verification (a pool sized for N=%s, "
                                             "up to %s slots)",
                                             FormatCount(n), FormatCount(pool))));
    needs.back().flag = "n";
  }
  // A prefaulted pool commits all of itself: the grid's (--prefault) and finding 4's map cells.
  bool prefault = config.pages.prefault;
  if (whole_run) {
    for (const Pages& p : config.finding4_pages) prefault |= p.prefault;
  }
  if (prefault && !config.ns.empty()) {
    const double n = static_cast<double>(*std::max_element(config.ns.begin(), config.ns.end()));
    for (std::uint64_t pool : config.pools) {
      Need need = CellNeed(Policy::kBumpPool, n, static_cast<double>(pool),
                           absl::StrFormat("a prefaulted %s-slot pool", FormatCount(pool)));
      need.touched = kMaxOverheadPerKey * n + 8.0 * static_cast<double>(pool);
      need.flag = "pools";
      needs.push_back(need);
    }
  }
  for (const CapacitySearch& search : searches) {
    const std::uint64_t pool = search.pool_slots;
    const double keys = std::min(static_cast<double>(config.capacity_search_limit),
                                 static_cast<double>(pool));  // >= 1 slot per key, bounded
    needs.push_back(CellNeed(Policy::kSlotRecycler, keys, static_cast<double>(pool),
                             absl::StrFormat("measuring how many keys a %s-slot pool serves",
                                             FormatCount(pool))));
    needs.back().flag = "pools";
  }
  const double physical = PhysicalBytes();
  const double address_space = AddressSpaceLeft();
  // Cells measured at once each need their memory together.
  std::sort(needs.begin(), needs.end(), [](const Need& a, const Need& b) { return a.touched > b.touched; });
  double concurrent = 0;
  for (std::size_t i = 0; i < needs.size() && i < static_cast<std::size_t>(config.jobs); ++i) {
    concurrent += needs[i].touched;
  }
  for (const Need& need : needs) {
    if (need.reserved > address_space) {
      throw UsageError(need.flag, absl::StrFormat(
          "%s needs about %.1f GiB of address space, but this process may map %.1f GiB more "
          "(ulimit -v); lower --n or --pools, or raise the limit",
          need.what, need.reserved / kGiB, address_space / kGiB));
    }
    if (need.touched > 0.8 * physical) {
      throw UsageError(need.flag, absl::StrFormat(
          "%s needs about %.1f GiB of memory; this machine has %.1f GiB", need.what,
          need.touched / kGiB, physical / kGiB));
    }
  }
  if (config.jobs > 1 && concurrent > 0.8 * physical) {
    throw UsageError("jobs", absl::StrFormat(
        "%d cells at once need about %.1f GiB of memory; this machine has %.1f GiB (lower "
        "--jobs)",
        config.jobs, concurrent / kGiB, physical / kGiB));
  }
}

}  // namespace experiments::pool_exhaustion
