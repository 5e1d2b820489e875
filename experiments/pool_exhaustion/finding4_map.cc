#include "experiments/pool_exhaustion/finding4_map.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "allocators/stats.h"
#include "experiments/common/statistics.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;
using R = schema::ReferenceRow::Field;

// A finding-4 configuration: what serves the fallbacks, and how the pools' pages are backed.
struct Config {
  std::string fallback;
  Pages pages;
  friend bool operator==(const Config&, const Config&) = default;
};

Config ConfigOf(const CellRecord& r) { return {r.Str(F::kFallback), PagesOf(r)}; }

bool IsBump(const CellRecord& r, absl::string_view role) {
  return r.Str(F::kRole) == role && PolicyOf(r) == Policy::kBumpPool && r.Count(F::kSeed) == 0;
}

// The grid's configuration (every grid row shares it), from its first bump_pool row.
std::optional<Config> GridConfig(const std::vector<CellRecord>& rows) {
  for (const CellRecord& r : rows) {
    if (IsBump(r, kGrid)) return ConfigOf(r);
  }
  return std::nullopt;
}

const CellRecord* Find(const std::vector<CellRecord>& rows, absl::string_view role,
                       const Config& config, std::uint64_t n, std::uint64_t pool) {
  for (const CellRecord& r : rows) {
    if (IsBump(r, role) && r.Count(F::kN) == n && r.Count(F::kPoolSlots) == pool &&
        ConfigOf(r) == config) {
      return &r;
    }
  }
  return nullptr;
}

std::optional<double> ReferenceRatio(const std::vector<ReferenceRecord>& reference,
                                     const PoolPair& pair, R field) {
  const ReferenceRecord* exhausted = FindReference(reference, pair.n, pair.exhausted_pool);
  const ReferenceRecord* sized = FindReference(reference, pair.n, pair.sized_pool);
  if (exhausted == nullptr || sized == nullptr || exhausted->IsNull(field) ||
      sized->IsNull(field)) {
    return std::nullopt;
  }
  return exhausted->Float(field) / sized->Float(field);
}

// exhausted / sized, repetition r against repetition r: the two cells were measured interleaved,
// so repetition r of each ran at the same time.
std::vector<double> RepetitionRatios(const CellRecord& exhausted, const CellRecord& sized,
                                     F field) {
  const std::vector<double>& a = exhausted.Reps(field);
  const std::vector<double>& b = sized.Reps(field);
  if (a.empty() || a.size() != b.size()) {
    throw SchemaError(absl::StrCat("finding 4 at n=", exhausted.Count(F::kN), ": ", a.size(),
                                   " and ", b.size(), " repetitions are not a pair"));
  }
  std::vector<double> ratios;
  for (std::size_t r = 0; r < a.size(); ++r) ratios.push_back(a[r] / std::max(b[r], 1e-9));
  return ratios;
}

Finding4Record MakeRecord(const PoolPair& pair, const Config& config, bool grid,
                          const CellRecord& exhausted, const CellRecord& sized,
                          const std::vector<ReferenceRecord>& reference) {
  using G = schema::Finding4Ratio::Field;
  const std::vector<double> inserts = RepetitionRatios(exhausted, sized, F::kInsertNsReps);
  const std::vector<double> queries = RepetitionRatios(exhausted, sized, F::kQueryNsReps);
  const double insert = Median(inserts), query = Median(queries);
  auto optional = [](const std::optional<double>& v) { return v ? Value(*v) : Value(); };
  auto huge = [](const CellRecord& r) {
    return r.IsNull(F::kAnonHugeKb) ? Value() : Value(r.Int(F::kAnonHugeKb));
  };
  return RecordFrom<schema::Finding4Ratio>([&](G field) -> Value {
    switch (field) {  // no default: a new schema field must be written here
      case G::kN: return static_cast<std::int64_t>(pair.n);
      case G::kFallback: return config.fallback;
      case G::kPages: return std::string(PagesName(config.pages));
      case G::kProcessMalloc: return exhausted.Str(F::kProcessMalloc);
      case G::kGrid: return grid;
      case G::kExhaustedPool: return static_cast<std::int64_t>(pair.exhausted_pool);
      case G::kSizedPool: return static_cast<std::int64_t>(pair.sized_pool);
      case G::kFallbackPct: return exhausted.Float(F::kFallbackPct);
      case G::kExhaustedInsertNs: return exhausted.Float(F::kInsertNsPerOp);
      case G::kSizedInsertNs: return sized.Float(F::kInsertNsPerOp);
      case G::kInsertRatio: return insert;
      case G::kInsertRatioMin: return *std::min_element(inserts.begin(), inserts.end());
      case G::kInsertRatioMax: return *std::max_element(inserts.begin(), inserts.end());
      case G::kExhaustedQueryNs: return exhausted.Float(F::kQueryNsPerOp);
      case G::kSizedQueryNs: return sized.Float(F::kQueryNsPerOp);
      case G::kQueryRatio: return query;
      case G::kQueryRatioMin: return *std::min_element(queries.begin(), queries.end());
      case G::kQueryRatioMax: return *std::max_element(queries.begin(), queries.end());
      case G::kExhaustedFaultsPerInsert: return exhausted.Float(F::kMinorFaultsPerInsert);
      case G::kSizedFaultsPerInsert: return sized.Float(F::kMinorFaultsPerInsert);
      case G::kExhaustedAnonHugeKb: return huge(exhausted);
      case G::kSizedAnonHugeKb: return huge(sized);
      case G::kSizedSpanPerLiveByte:
        return static_cast<double>(sized.Count(F::kHighWaterSlots) * allocators::kSlotBytes) /
               static_cast<double>(std::max<std::uint64_t>(1, sized.Count(F::kLiveBytes)));
      case G::kReferenceInsertRatio:
        return optional(ReferenceRatio(reference, pair, R::kInsertNsPerOp));
      case G::kReferenceQueryRatio:
        return optional(ReferenceRatio(reference, pair, R::kQueryNsPerOp));
      case G::kHolds: return Finding4Holds(insert, query);
    }
    throw SchemaError("finding4_ratio: unknown field");
  });
}

}  // namespace

bool Finding4InsertsSlow(double insert_ratio) {
  return insert_ratio >= schema::kFinding4MinInsertRatio;
}

bool Finding4QueriesUnchanged(double query_ratio) {
  return std::abs(query_ratio - 1.0) <= schema::kFinding4QueryTolerance;
}

bool Finding4Holds(double insert_ratio, double query_ratio) {
  return Finding4InsertsSlow(insert_ratio) && Finding4QueriesUnchanged(query_ratio);
}

std::vector<PoolPair> Finding4Pairs(const std::vector<CellRecord>& rows) {
  std::vector<PoolPair> pairs;
  const std::vector<std::uint64_t> pools = GridPools(rows);
  if (pools.size() < 2) return pairs;
  const std::uint64_t small = pools.front(), large = pools.back();
  for (const CellRecord& r : rows) {
    if (!IsBump(r, kGrid) || r.Count(F::kPoolSlots) != small ||
        r.Float(F::kFallbackPct) < schema::kFinding4MinFallbackPct) {
      continue;
    }
    const CellRecord* sized = Find(rows, kGrid, ConfigOf(r), r.Count(F::kN), large);
    if (sized == nullptr || sized->Count(F::kFallbackAllocations) > 0) continue;
    pairs.push_back({r.Count(F::kN), small, large});
  }
  return pairs;
}

std::vector<CellPair> Finding4MapCells(const std::vector<CellRecord>& rows,
                                       const std::vector<std::string>& fallbacks,
                                       const std::vector<Pages>& pages) {
  std::vector<CellPair> cells;
  const std::optional<Config> grid = GridConfig(rows);
  if (!grid) return cells;
  // The grid's configuration first (finding 4 is judged in it), then every combination.
  std::vector<Config> configs{*grid};
  for (const Pages& p : pages) {
    for (const std::string& fallback : fallbacks) {
      if (!(Config{fallback, p} == *grid)) configs.push_back({fallback, p});
    }
  }
  for (const PoolPair& pair : Finding4Pairs(rows)) {
    for (const Config& c : configs) {
      cells.push_back({{Policy::kBumpPool, pair.n, pair.exhausted_pool, c.pages, 0, c.fallback},
                       {Policy::kBumpPool, pair.n, pair.sized_pool, c.pages, 0, c.fallback}});
    }
  }
  return cells;
}

int Finding4Repetitions(int repetitions) { return std::max(2, repetitions + repetitions % 2); }

std::vector<Finding4Record> Finding4Map(const std::vector<CellRecord>& rows,
                                        const std::vector<ReferenceRecord>& reference) {
  std::vector<Finding4Record> out;
  const std::optional<Config> grid = GridConfig(rows);
  if (!grid) return out;
  // Configurations in the order measured, the grid's first.
  std::vector<Config> configs{*grid};
  for (const CellRecord& r : rows) {
    if (IsBump(r, kFinding4Map) &&
        std::find(configs.begin(), configs.end(), ConfigOf(r)) == configs.end()) {
      configs.push_back(ConfigOf(r));
    }
  }
  for (const PoolPair& pair : Finding4Pairs(rows)) {
    for (const Config& config : configs) {
      const CellRecord* exhausted = Find(rows, kFinding4Map, config, pair.n, pair.exhausted_pool);
      const CellRecord* sized = Find(rows, kFinding4Map, config, pair.n, pair.sized_pool);
      if (exhausted == nullptr || sized == nullptr) continue;
      out.push_back(MakeRecord(pair, config, config == *grid, *exhausted, *sized, reference));
    }
  }
  return out;
}

}  // namespace experiments::pool_exhaustion
