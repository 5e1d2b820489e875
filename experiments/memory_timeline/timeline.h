// experiments/memory_timeline/timeline.h: memory over time for one (workload, policy) cell.
//
// Allocator benchmarks usually report one number, peak RSS. A timeline samples, every K map
// operations (deterministic in operation index, not in wall time), the policy's telemetry (live
// bytes, slots demanded, capacity, chunks, fallbacks) and the process's RSS; after the workload it
// destroys the map and its policy and reads how much RSS the process still holds: what the
// allocators keep after everything was freed.
//
// RSS is a property of the whole process, so each cell runs in a fresh process: the program
// executes itself with --cell=<EncodeSpec(spec)>, whose main calls RunCell and prints the result
// (experiments/common/cells.h; an allocator that purges dirty pages a fork() inherited would make
// RSS fall below its start). RunCell itself is what that process runs, and what tests call
// directly.
#ifndef HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_
#define HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "experiments/common/cell_results.h"
#include "experiments/common/records.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

namespace experiments::memory_timeline {

// build: insert keys 0..n-1 into a hamt::Map; churn: then n updates, each erasing the oldest key
// and inserting a new one; persistent: churn's operations on a hamt::PersistentMap that keeps only
// its newest version (each update copies a path and frees the one it replaced).
enum class Workload { kBuild, kChurn, kPersistent };
inline constexpr Workload kAllWorkloads[] = {Workload::kBuild, Workload::kChurn,
                                             Workload::kPersistent};
absl::string_view WorkloadName(Workload workload);  // as in the schema's enum

// Map operations (inserts and erases) in `workload` over n keys: build n; churn and persistent
// n + 2n.
std::uint64_t Operations(Workload workload, std::uint64_t n);

struct CellSpec {
  Workload workload = Workload::kBuild;
  std::string policy;            // an allocators/registry.h line
  std::uint64_t n = 0;
  std::uint64_t sample_every = 1;
  std::uint64_t pool_slots = 0;  // lines that own a pool: capacity (growing: the first chunk)
  std::string process_malloc;    // the schema's enum value, e.g. "glibc"
};

using SampleRecord = Record<schema::TimelineSample>;
using CellRecord = Record<schema::TimelineCell>;

// The samples: op_index 0, every sample_every, and the last operation.
using CellResult = CellReport<schema::TimelineCell, schema::TimelineSample>;

// Runs the cell in this process. Throws std::runtime_error when the map reads back a wrong value,
// experiments::Interrupted on Ctrl-C, std::invalid_argument on an unknown policy.
CellResult RunCell(const CellSpec& spec);

// The cell's process (experiments/common/cells.h: RunCellInChild, CellProcessMain) is named by
// this spec; CellName(spec) names it in progress lines and errors ("build/malloc/n=100000").
std::string CellName(const CellSpec& spec);

// A spec as one flag value and back ("build,malloc,100000,500,65536,glibc"); DecodeSpec throws
// std::invalid_argument naming what is wrong.
std::string EncodeSpec(const CellSpec& spec);
CellSpec DecodeSpec(absl::string_view text);

// The run's settings, as its metadata.config records them, and the cells they plan: one definition
// for the run and for the merge of a sharded run's shards.
struct Settings {
  std::vector<std::uint64_t> ns;
  std::vector<Workload> workloads;
  std::vector<std::string> policies;  // registry lines
  std::uint64_t samples = 200;        // per cell, after the empty map's
  std::uint64_t pool_slots = 0;
  std::string binary;  // BinaryFingerprint(): the code that measures (shards must share it)
  std::string shard;                  // "I/N" (experiments/common/shards.h), or "" for all

  nlohmann::ordered_json ToJson() const;
};
// Throws SchemaError naming the setting a damaged file lacks.
Settings SettingsFromJson(const nlohmann::ordered_json& config);

// Every cell of the run, in table order (each N, each workload, each policy).
std::vector<CellSpec> PlanCells(const Settings& settings, const std::string& process_malloc);

// A cell's expected cost for sharding (shards.h): its map operations, a persistent one costing
// four (a path copied and freed), plus a process start.
std::uint64_t CellCost(const CellSpec& spec);

// The cell a record belongs to, named as CellName(spec) names it.
std::string CellName(const CellRecord& cell);
std::string CellName(const SampleRecord& sample);

using Results = CellRunResults<schema::TimelineCell, schema::TimelineSample>;
inline constexpr CellFiles kFiles = {"memory_timeline", "memory_timeline.json",
                                     "memory_timeline_cells.csv", "memory_timeline.csv"};

// The console table of the cells, with its header.
std::string FormatCells(const std::vector<CellRecord>& cells);


}  // namespace experiments::memory_timeline

#endif  // HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_
