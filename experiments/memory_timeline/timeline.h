// experiments/memory_timeline/timeline.h: memory over time for one (workload, policy) cell.
//
// Allocator benchmarks usually report one number, peak RSS. A timeline samples, every K map
// operations (deterministic in operation index, not in wall time), the policy's telemetry (live
// bytes, slots demanded, capacity, chunks, fallbacks) and the process's RSS; after the workload it
// destroys the map and its policy and reads how much RSS the process still holds: what the
// allocators keep after everything was freed.
//
// RSS is a property of the whole process, so RunCellInChild runs each cell in a fresh process: it
// executes the program again with --cell=<EncodeSpec(spec)>, whose main calls RunCell and prints
// Serialize(result). (A fork() alone would not do: the child inherits the parent's heap, results
// so far included, and an allocator that purges inherited dirty pages makes RSS fall below its
// start.) RunCell itself is what that process runs, and what tests call directly.
#ifndef HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_
#define HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "experiments/common/records.h"
#include "experiments/schema/schema.h"

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

// Runs `executable --cell=EncodeSpec(spec)` (this program: /proc/self/exe) through
// experiments::RunInChild and returns what it measured. Throws experiments::Interrupted when the
// child was interrupted, std::runtime_error naming the cell when it failed or died (the child's
// own error line is on stderr, above).
// `heartbeat` (when given) is called every 15 s while the cell runs, with the seconds elapsed.
CellResult RunCellInChild(const CellSpec& spec, const std::string& executable,
                          const std::function<void(double seconds)>& heartbeat = nullptr);

// A spec as one flag value and back ("build,malloc,100000,500,65536,glibc"); DecodeSpec throws
// std::invalid_argument naming what is wrong.
std::string EncodeSpec(const CellSpec& spec);
CellSpec DecodeSpec(absl::string_view text);

// The exit status of a --cell process interrupted by Ctrl-C.
inline constexpr int kCellInterruptedExit = 130;

// The cell and its samples as one JSON object, and back (the child's report to its parent).
std::string Serialize(const CellResult& result);
CellResult Deserialize(absl::string_view text);  // throws SchemaError

}  // namespace experiments::memory_timeline

#endif  // HAMT_ALLOC_EXPERIMENTS_MEMORY_TIMELINE_TIMELINE_H_
