// experiments/pool_exhaustion/records.h: the study's measurements as result records
// (experiments/schema/schema.json: pool_cell, pool_capacity, allocation_cost, ...), and the whole
// result set of a run as it is written to pool_exhaustion.json and read back by --resume.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_RECORDS_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_RECORDS_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "experiments/common/records.h"
#include "experiments/pool_exhaustion/measure.h"
#include "experiments/pool_exhaustion/predict.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

namespace experiments::pool_exhaustion {

using CellRecord = Record<schema::PoolCell>;
using CapacityRecord = Record<schema::PoolCapacity>;
using CostRecord = Record<schema::AllocationCost>;
using FindingRecord = Record<schema::Finding>;
using Finding4Record = Record<schema::Finding4Ratio>;
using FitRecord = Record<schema::SizingFit>;
using RecommendationRecord = Record<schema::Recommendation>;
using ModelPointRecord = Record<schema::ModelPoint>;
using ReferenceRecord = Record<schema::ReferenceRow>;
using ReferenceCostRecord = Record<schema::ReferenceCost>;
using MetadataRecord = Record<schema::RunMetadata>;
using CellField = schema::PoolCell::Field;

// The file stem of a run's results (<stem>.csv, <stem>.json, <stem>.runs/): one per mode.
inline constexpr const char* kDefaultStem = "pool_exhaustion";
inline constexpr const char* kSweepStem = "pool_exhaustion_sweep";
inline std::string StemFor(absl::string_view mode) {
  return mode == "sweep" ? kSweepStem : kDefaultStem;
}

// The role of a measured cell (schema: pool_cell.role).
inline constexpr absl::string_view kGrid = "grid";
inline constexpr absl::string_view kVerification = "verification";
inline constexpr absl::string_view kFinding4Map = "finding4_map";

// `prediction`: the demand model's, for the same cell (predict.h).
CellRecord MakeCellRecord(const Measurement& m, absl::string_view role, int repetitions,
                          const Prediction& prediction);
CapacityRecord MakeCapacityRecord(Policy policy, std::uint64_t pool_slots, std::uint64_t largest_n,
                                  std::uint64_t search_limit, const std::string& fallback);
CostRecord MakeCostRecord(CostPattern pattern, ServedBy served_by, std::size_t block_bytes,
                          std::size_t count, const std::vector<double>& ns,
                          const std::string& fallback);

// The cell a record describes (role aside).
Cell CellOf(const CellRecord& r);
Policy PolicyOf(const CellRecord& r);
Pages PagesOf(const CellRecord& r);
// The distinct pool sizes of the grid's pooled rows, ascending.
std::vector<std::uint64_t> GridPools(const std::vector<CellRecord>& rows);

// Everything one run produces; pool_exhaustion.json holds it all, pool_exhaustion.csv the rows.
struct Results {
  MetadataRecord metadata;
  std::vector<CellRecord> rows;
  std::vector<CapacityRecord> capacities;
  std::vector<CostRecord> allocation_costs;
  std::vector<FindingRecord> findings;
  std::vector<Finding4Record> finding4_map;  // finding4_map.h
  std::vector<FitRecord> sizing_fits;
  std::vector<RecommendationRecord> recommendations;
  std::vector<ModelPointRecord> model_curve;
};

// The JSON document; its top-level keys are schema.json's sections of pool_exhaustion.json.
nlohmann::ordered_json ToJson(const Results& results);
// Throws SchemaError naming the section and record ("rows[3].n: ...") on anything that breaks
// the schema, including an unknown section and two records with one key.
Results ResultsFromJson(const nlohmann::ordered_json& json);

// The reference study's figures: every number the findings quote from the study comes from here.
struct Reference {
  std::vector<ReferenceRecord> cells;      // pool_exhaustion_reference.csv
  std::vector<ReferenceCostRecord> costs;  // allocation_cost_reference.csv
};
inline constexpr const char* kReferenceCells = "pool_exhaustion_reference.csv";
inline constexpr const char* kReferenceCosts = "allocation_cost_reference.csv";

// Parses a reference CSV of record type S ('#' lines are comments). Throws SchemaError "line N".
template <class S>
std::vector<Record<S>> ParseReferenceCsv(absl::string_view csv_text);
// experiments/reference: where `bazel run` (the runfiles tree) or a direct run of the binary
// (beside it, or in the workspace) finds it.
std::filesystem::path DefaultReferenceDirectory(const char* argv0);
// Reads both files from `dir`; throws std::runtime_error naming the file and line.
Reference ReadReference(const std::filesystem::path& dir);

const ReferenceRecord* FindReference(const std::vector<ReferenceRecord>& reference,
                                     std::uint64_t n, std::uint64_t pool_slots);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_RECORDS_H_
