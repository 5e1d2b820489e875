// bazel run //experiments:memory_timeline [-- --n=1M --policies=bump_pool,growing_pool ...]
//
// Memory against map operations, for every allocator policy and workload: the policy's live bytes,
// slots demanded, capacity and fallbacks, and the process's RSS, sampled every K operations; after
// teardown, the RSS the allocators keep. Each cell runs in a process of its own (timeline.h). One
// binary per process malloc (memory_timeline_<malloc>); results go to
// results/memory_timeline/<malloc>/ (experiments/RESULTS_SCHEMA.md).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "experiments/common/cells.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/common/shards.h"
#include "experiments/memory_timeline/timeline.h"

ABSL_FLAG(std::string, n, "100K", "map sizes N, comma-separated (K and M suffixes allowed)");
ABSL_FLAG(std::string, workloads, "build,churn,persistent",
          "build: insert keys 0..N-1; churn: build, then N updates that each erase the oldest key "
          "and insert a new one; persistent: churn on a hamt::PersistentMap that keeps only its "
          "newest version");
ABSL_FLAG(std::uint64_t, samples, 200,
          "samples per cell after the empty map's (every ceil(operations/samples) operations, "
          "and the last)");

namespace {

namespace fs = std::filesystem;
namespace mt = experiments::memory_timeline;
using experiments::FlagError;
using experiments::FormatCount;
using CF = experiments::schema::TimelineCell::Field;

constexpr const char* kProgram = "memory_timeline";
constexpr const char* kUsage =
    "Memory against map operations for every allocator policy: bazel run "
    "//experiments:memory_timeline [-- --n=1M --policies=bump_pool,growing_pool]";

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  allocators::CheckProcessMallocOrDie();
  if (const std::string cell = experiments::CellFlag(); !cell.empty()) {
    return experiments::CellProcessMain(argc, argv, cell, mt::DecodeSpec, mt::RunCell);
  }
  const std::string process_malloc = HAMT_EXPECTED_PROCESS_MALLOC;

  mt::Settings settings;
  for (std::uint64_t n :
       experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000)) {
    if (std::find(settings.ns.begin(), settings.ns.end(), n) == settings.ns.end()) {
      settings.ns.push_back(n);  // each N once
    }
  }
  settings.workloads = experiments::ParseNameList<mt::Workload>(
      "workloads", absl::GetFlag(FLAGS_workloads), mt::kAllWorkloads, mt::WorkloadName, "workload");
  settings.samples = absl::GetFlag(FLAGS_samples);
  if (settings.samples < 1 || settings.samples > 100'000) {
    FlagError("samples", "must be in [1, 100000]");
  }
  const std::optional<experiments::Shard> shard = experiments::ShardFlag();
  if (shard) settings.shard = experiments::ShardName(*shard);
  settings.binary = experiments::BinaryFingerprint();

  experiments::CellRun run = experiments::OpenCellRun(argc, argv, mt::kFiles.stem, process_malloc);
  settings.policies = run.policies;
  settings.pool_slots = run.pool_slots;
  const bool quiet = run.quiet;
  const std::vector<mt::CellSpec> plan = mt::PlanCells(settings, process_malloc);
  std::vector<std::uint64_t> costs;
  for (const mt::CellSpec& spec : plan) costs.push_back(mt::CellCost(spec));
  const std::vector<std::size_t> mine = experiments::ItemsOf(shard, costs);
  if (!quiet) {
    std::cerr << absl::StrFormat("%s: %s%d cells (%d N x %d workloads x %d policies%s), %d "
                                 "samples each, process malloc %s, each cell in a fresh process\n",
                                 kProgram, shard ? absl::StrCat("shard ", settings.shard, ": ") : "",
                                 mine.size(), settings.ns.size(), settings.workloads.size(),
                                 settings.policies.size(),
                                 shard ? absl::StrCat(": ", plan.size(), " in all") : "",
                                 settings.samples,
                                 allocators::DetectProcessMalloc().NameAndVersion());
  }
  const mt::Results results = experiments::MeasureAndPublishCells<mt::CellResult>(
      argc, argv, run, kProgram, plan, mine, settings.ToJson(), mt::kFiles, CF::kSeconds);
  const double seconds =
      results.metadata.Float(experiments::schema::RunMetadata::Field::kDurationSeconds);

  std::cout << mt::FormatCells(results.cells);
  std::cout << absl::StrFormat(
      "RSS columns are anonymous resident KiB above the cell's start (each cell in a fresh "
      "process); retained: after "
      "the map and its policy were destroyed. Pool: %s slots. Wrote %s (%.1f s).%s\n",
      FormatCount(static_cast<double>(settings.pool_slots)), run.out_dir.string(), seconds,
      experiments::MergeHint(shard));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
