#include "experiments/pool_exhaustion/records.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "allocators/stats.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"

namespace experiments::pool_exhaustion {
namespace {

double PerKey(std::uint64_t value, std::uint64_t n) {
  return n == 0 ? 0.0 : static_cast<double>(value) / static_cast<double>(n);
}

// The value of one pool_cell field. Every record is built this way (RecordFrom and a switch
// without a default), so a field added to schema.json and not written fails to compile.
Value CellValue(CellField field, const Measurement& m, absl::string_view role, int repetitions,
                const Prediction& p) {
  auto optional = [](const std::optional<double>& v) { return v ? Value(*v) : Value(); };
  using F = CellField;
  const allocators::AllocStats& s = m.stats;
  switch (field) {
    case F::kSchemaVersion: return std::int64_t{schema::kVersion};
    case F::kRole: return std::string(role);
    case F::kPolicy: return std::string(PolicyName(m.cell.policy));
    case F::kFallback: return m.cell.fallback;
    case F::kN: return static_cast<std::int64_t>(m.cell.n);
    case F::kPoolSlots: return static_cast<std::int64_t>(m.cell.pool_slots);
    case F::kPrefault: return m.cell.pages.prefault;
    case F::kHugePages: return m.cell.pages.huge;
    case F::kSeed: return static_cast<std::int64_t>(m.cell.seed);
    case F::kRepetitions: return std::int64_t{repetitions};
    case F::kAllocations: return static_cast<std::int64_t>(s.allocations);
    case F::kFrees: return static_cast<std::int64_t>(s.deallocations);
    case F::kBytesAllocated: return static_cast<std::int64_t>(s.bytes_allocated);
    case F::kFallbackAllocations: return static_cast<std::int64_t>(s.fallback_allocations);
    case F::kFallbackPct: return allocators::FallbackPct(s);
    case F::kFallbackBytes: return static_cast<std::int64_t>(s.fallback_bytes);
    case F::kStudyPredictedFallbackPct: {
      if (!HasPool(m.cell.policy)) return std::monostate{};
      const double demand = static_cast<double>(s.slots_demanded);
      const double pool = static_cast<double>(m.cell.pool_slots);
      return demand <= pool ? 0.0 : 100.0 * (1.0 - pool / demand);
    }
    case F::kSlotsDemanded: return static_cast<std::int64_t>(s.slots_demanded);
    case F::kUtilizationPct:
      if (!HasPool(m.cell.policy) || m.cell.pool_slots == 0) return std::monostate{};
      return allocators::UtilizationPct(s);
    case F::kHighWaterSlots: return static_cast<std::int64_t>(s.high_water_slots);
    case F::kSlotsPerEntry: return PerKey(s.slots_demanded, m.cell.n);
    case F::kLiveBytes: return static_cast<std::int64_t>(s.live_bytes);
    case F::kBytesPerEntry: return PerKey(s.live_bytes, m.cell.n);
    case F::kPeakLiveBytes: return static_cast<std::int64_t>(s.peak_live_bytes);
    case F::kReusedAllocations: return static_cast<std::int64_t>(s.reused_allocations);
    case F::kInsertNsPerOp: return Median(m.insert_ns);
    case F::kQueryNsPerOp: return Median(m.query_ns);
    case F::kInsertNsReps: return m.insert_ns;
    case F::kQueryNsReps: return m.query_ns;
    case F::kPeakRssKb: return static_cast<std::int64_t>(m.peak_rss_kb);
    case F::kMinorFaultsPerInsert: return Median(m.minor_faults_per_insert);
    case F::kAnonHugeKb: return m.anon_huge_kb < 0 ? Value() : Value(m.anon_huge_kb);
    case F::kProcessMalloc: return m.process_malloc;
    case F::kHost: return HostClass();
    case F::kModelSlotsDemanded: return optional(p.slots_demanded);
    case F::kModelSlotsPerEntry:
      return p.slots_demanded ? Value(PerKey(1, m.cell.n) * *p.slots_demanded) : Value();
    case F::kModelAllocations: return p.allocations;
    case F::kModelFallbackPct: return optional(p.fallback_pct);
    case F::kModelBytesPerEntry: return p.bytes_per_entry;
    case F::kModelExhaustionN: return optional(p.exhaustion_n);
  }
  throw SchemaError("pool_cell: unknown field");
}

template <class S>
void CheckUniqueKeys(const std::vector<Record<S>>& records, const std::string& section) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto [it, inserted] = seen.emplace(records[i].Key(), i);
    if (!inserted) {
      throw SchemaError(absl::StrCat(section, "[", i, "]: duplicate of ", section, "[", it->second,
                                     "] (", it->first, ")"));
    }
  }
}

}  // namespace

CellRecord MakeCellRecord(const Measurement& m, absl::string_view role, int repetitions,
                          const Prediction& prediction) {
  return RecordFrom<schema::PoolCell>(
      [&](CellField field) { return CellValue(field, m, role, repetitions, prediction); });
}

CapacityRecord MakeCapacityRecord(Policy policy, std::uint64_t pool_slots, std::uint64_t largest_n,
                                  std::uint64_t search_limit, const std::string& fallback) {
  return RecordFrom<schema::PoolCapacity>([&](schema::PoolCapacity::Field field) -> Value {
    using F = schema::PoolCapacity::Field;
    switch (field) {  // no default: a new schema field must be written here
      case F::kPolicy: return std::string(PolicyName(policy));
      case F::kFallback: return fallback;
      case F::kPoolSlots: return static_cast<std::int64_t>(pool_slots);
      case F::kLargestN: return static_cast<std::int64_t>(largest_n);
      case F::kLowerBound: return largest_n >= search_limit;
      case F::kSearchLimit: return static_cast<std::int64_t>(search_limit);
    }
    throw SchemaError("pool_capacity: unknown field");
  });
}

CostRecord MakeCostRecord(CostPattern pattern, ServedBy served_by, std::size_t block_bytes,
                          std::size_t count, const std::vector<double>& ns,
                          const std::string& fallback) {
  return RecordFrom<schema::AllocationCost>([&](schema::AllocationCost::Field field) -> Value {
    using F = schema::AllocationCost::Field;
    switch (field) {  // no default: a new schema field must be written here
      case F::kPattern: return std::string(pattern == CostPattern::kBatch ? "batch" : "grow");
      case F::kServedBy: return std::string(served_by == ServedBy::kBump ? "bump" : "fallback");
      case F::kFallback: return fallback;
      case F::kBlockBytes: return static_cast<std::int64_t>(block_bytes);
      case F::kCount: return static_cast<std::int64_t>(count);
      case F::kNsPerAllocation: return Median(ns);
      case F::kNsReps: return ns;
    }
    throw SchemaError("allocation_cost: unknown field");
  });
}

Policy PolicyOf(const CellRecord& r) { return *ParsePolicy(r.Str(CellField::kPolicy)); }

Pages PagesOf(const CellRecord& r) {
  return Pages{r.Bool(CellField::kPrefault), r.Bool(CellField::kHugePages)};
}

std::vector<std::uint64_t> GridPools(const std::vector<CellRecord>& rows) {
  std::vector<std::uint64_t> pools;
  for (const CellRecord& r : rows) {
    if (r.Str(CellField::kRole) == kGrid && HasPool(PolicyOf(r))) {
      pools.push_back(r.Count(CellField::kPoolSlots));
    }
  }
  std::sort(pools.begin(), pools.end());
  pools.erase(std::unique(pools.begin(), pools.end()), pools.end());
  return pools;
}

Cell CellOf(const CellRecord& r) {
  return Cell{PolicyOf(r),
              r.Count(CellField::kN),
              r.Count(CellField::kPoolSlots),
              PagesOf(r),
              r.Count(CellField::kSeed),
              r.Str(CellField::kFallback)};
}

nlohmann::ordered_json ToJson(const Results& results) {
  nlohmann::ordered_json json;
  json["metadata"] = results.metadata.Json();
  json["rows"] = JsonArray(results.rows);
  json["capacities"] = JsonArray(results.capacities);
  json["allocation_costs"] = JsonArray(results.allocation_costs);
  json["findings"] = JsonArray(results.findings);
  json["finding4_map"] = JsonArray(results.finding4_map);
  json["sizing_fits"] = JsonArray(results.sizing_fits);
  json["recommendations"] = JsonArray(results.recommendations);
  json["model_curve"] = JsonArray(results.model_curve);
  return json;
}

Results ResultsFromJson(const nlohmann::ordered_json& json) {
  if (!json.is_object()) throw SchemaError("expected a JSON object");
  static const char* const kSections[] = {
      "metadata", "rows",        "capacities",      "allocation_costs", "findings",
      "finding4_map", "sizing_fits", "recommendations", "model_curve"};
  for (const auto& [key, value] : json.items()) {
    if (std::find(std::begin(kSections), std::end(kSections), key) == std::end(kSections)) {
      throw SchemaError(absl::StrCat("unknown section '", key, "'"));
    }
  }
  for (const char* key : kSections) {
    if (!json.contains(key)) throw SchemaError(absl::StrCat("missing section '", key, "'"));
  }
  Results results;
  results.metadata = MetadataRecord::FromJson(json["metadata"], "metadata");
  results.rows = FromJsonArray<schema::PoolCell>(json["rows"], "rows");
  results.capacities = FromJsonArray<schema::PoolCapacity>(json["capacities"], "capacities");
  results.allocation_costs =
      FromJsonArray<schema::AllocationCost>(json["allocation_costs"], "allocation_costs");
  results.findings = FromJsonArray<schema::Finding>(json["findings"], "findings");
  results.finding4_map =
      FromJsonArray<schema::Finding4Ratio>(json["finding4_map"], "finding4_map");
  results.sizing_fits = FromJsonArray<schema::SizingFit>(json["sizing_fits"], "sizing_fits");
  results.recommendations =
      FromJsonArray<schema::Recommendation>(json["recommendations"], "recommendations");
  results.model_curve = FromJsonArray<schema::ModelPoint>(json["model_curve"], "model_curve");
  CheckUniqueKeys(results.rows, "rows");
  CheckUniqueKeys(results.capacities, "capacities");
  CheckUniqueKeys(results.allocation_costs, "allocation_costs");
  CheckUniqueKeys(results.finding4_map, "finding4_map");
  return results;
}

template <class S>
std::vector<Record<S>> ParseReferenceCsv(absl::string_view csv_text) {
  // Comment lines become empty lines, so that line numbers in errors stay those of the file.
  std::string text;
  for (absl::string_view line : absl::StrSplit(csv_text, '\n')) {
    if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) {
      text.append(line.data(), line.size());
    }
    text += '\n';
  }
  text.pop_back();  // the split added one newline too many
  return ParseCsvDocument<S>(text);
}
template std::vector<ReferenceRecord> ParseReferenceCsv<schema::ReferenceRow>(absl::string_view);
template std::vector<ReferenceCostRecord> ParseReferenceCsv<schema::ReferenceCost>(
    absl::string_view);

std::filesystem::path DefaultReferenceDirectory(const char* argv0) {
  namespace fs = std::filesystem;
  const fs::path relative = "experiments/reference";
  for (const fs::path& candidate :
       {relative, fs::path(std::string(argv0) + ".runfiles/hamt_alloc") / relative,
        WorkspaceDirectory() / relative}) {
    if (fs::exists(candidate / kReferenceCells)) return candidate;
  }
  return relative;
}

Reference ReadReference(const std::filesystem::path& dir) {
  Reference reference;
  for (const char* name : {kReferenceCells, kReferenceCosts}) {
    const std::filesystem::path path = dir / name;
    try {
      const std::string text = ReadWholeFile(path);
      if (name == kReferenceCells) {
        reference.cells = ParseReferenceCsv<schema::ReferenceRow>(text);
      } else {
        reference.costs = ParseReferenceCsv<schema::ReferenceCost>(text);
      }
    } catch (const std::exception& error) {
      throw std::runtime_error(absl::StrCat(path.string(), " ", error.what()));
    }
  }
  return reference;
}

const ReferenceRecord* FindReference(const std::vector<ReferenceRecord>& reference,
                                     std::uint64_t n, std::uint64_t pool_slots) {
  using F = schema::ReferenceRow::Field;
  for (const ReferenceRecord& row : reference) {
    if (row.Count(F::kN) == n && row.Count(F::kPoolSlots) == pool_slots) return &row;
  }
  return nullptr;
}

}  // namespace experiments::pool_exhaustion
