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
constexpr const char* kStem = "memory_timeline";

void Note(const std::string& note) { experiments::Note(note); }

std::string Kb(std::int64_t kb) {
  return absl::StrCat(kb < 0 ? "-" : "", FormatCount(static_cast<double>(kb < 0 ? -kb : kb)));
}

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  allocators::CheckProcessMallocOrDie();
  if (const std::string cell = experiments::CellFlag(); !cell.empty()) {
    return experiments::CellProcessMain(argc, argv, cell, mt::DecodeSpec, mt::RunCell);
  }
  const std::string process_malloc = HAMT_EXPECTED_PROCESS_MALLOC;

  std::vector<std::uint64_t> ns;
  for (std::uint64_t n :
       experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000)) {
    if (std::find(ns.begin(), ns.end(), n) == ns.end()) ns.push_back(n);  // each N once
  }
  const std::vector<mt::Workload> workloads = experiments::ParseNameList<mt::Workload>(
      "workloads", absl::GetFlag(FLAGS_workloads), mt::kAllWorkloads, mt::WorkloadName, "workload");
  const std::uint64_t samples = absl::GetFlag(FLAGS_samples);
  if (samples < 1 || samples > 100'000) FlagError("samples", "must be in [1, 100000]");

  experiments::CellRun run = experiments::OpenCellRun(argc, argv, kStem, process_malloc);
  const std::vector<std::string>& policies = run.policies;
  const std::uint64_t pool_slots = run.pool_slots;
  const bool quiet = run.quiet;
  const std::size_t total = ns.size() * workloads.size() * policies.size();
  if (!quiet) {
    std::cerr << absl::StrFormat("%s: %d cells (%d N x %d workloads x %d policies), %d samples "
                                 "each, process malloc %s, each cell in a fresh process\n",
                                 kProgram, total, ns.size(), workloads.size(), policies.size(),
                                 samples, allocators::DetectProcessMalloc().NameAndVersion());
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<mt::CellRecord> cells;
  std::vector<mt::SampleRecord> all_samples;
  for (std::uint64_t n : ns) {
    for (mt::Workload workload : workloads) {
      for (const std::string& policy : policies) {
        experiments::ThrowIfInterrupted();
        const std::uint64_t ops = mt::Operations(workload, n);
        // At most `samples` samples after op 0 (the last operation is always one).
        mt::CellSpec spec{.workload = workload, .policy = policy, .n = n,
                          .sample_every = std::max<std::uint64_t>(1, (ops + samples - 1) /
                                                                         samples),
                          .pool_slots = pool_slots, .process_malloc = process_malloc};
        mt::CellResult result = experiments::RunCellWithProgress<mt::CellResult>(
            run, kProgram, cells.size() + 1, total, mt::CellName(spec), mt::EncodeSpec(spec), CF::kSeconds);
        cells.push_back(std::move(result.cell));
        for (auto& s : result.samples) all_samples.push_back(std::move(s));
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  experiments::ThrowIfInterrupted();  // Ctrl-C after the last cell: still nothing published

  const nlohmann::ordered_json config = {
      {"n", absl::StrJoin(ns, ",")},
      {"policies", absl::StrJoin(policies, ",")},
      {"workloads", absl::GetFlag(FLAGS_workloads)},
      {"samples", samples},
      {"pool_slots", pool_slots}};
  const std::string run_id = experiments::RunStore::NewRunId();
  auto metadata = experiments::NewRunMetadata(kProgram, "default", run_id, argc, argv, config);
  using M = experiments::schema::RunMetadata::Field;
  metadata.Set(M::kComplete, true).Set(M::kDurationSeconds, seconds);
  run.store->StartNew(run_id, Note);
  nlohmann::ordered_json json;
  json["metadata"] = metadata.Json();
  json["cells"] = experiments::JsonArray(cells);
  json["samples"] = experiments::JsonArray(all_samples);
  run.store->Write("memory_timeline.json", json.dump(1) + "\n");
  run.store->Write("memory_timeline_cells.csv", experiments::CsvDocument(cells));
  run.store->Write("memory_timeline.csv", experiments::CsvDocument(all_samples));
  run.store->Publish();

  constexpr const char* kFormat = "%-10s %-17s %10s | %12s %12s %10s %7s | %13s | %10s %10s %10s\n";
  std::cout << absl::StrFormat(kFormat, "workload", "policy", "N", "first fallb.",
                               "slots dem.", "fallbacks", "chunks", "peak live KiB",
                               "RSS peak+", "RSS end+", "retained");
  std::cout << std::string(142, '-') << "\n";
  for (const mt::CellRecord& r : cells) {
    const std::int64_t rss_start = r.Int(CF::kAnonRssStartKb);
    std::cout << absl::StrFormat(
        kFormat, r.Str(CF::kWorkload), r.Str(CF::kPolicy), FormatCount(r.Float(CF::kN)),
        r.IsNull(CF::kFirstFallbackOp) ? "-" : FormatCount(r.Float(CF::kFirstFallbackOp)),
        FormatCount(r.Float(CF::kSlotsDemanded)), FormatCount(r.Float(CF::kFallbackAllocations)),
        FormatCount(r.Float(CF::kPoolChunks)), FormatCount(r.Float(CF::kPeakLiveBytes) / 1024),
        Kb(r.Int(CF::kAnonRssPeakKb) - rss_start), Kb(r.Int(CF::kAnonRssEndKb) - rss_start),
        Kb(r.Int(CF::kRetainedKb)));
  }
  std::cout << absl::StrFormat(
      "RSS columns are anonymous resident KiB above the cell's start (each cell in a fresh "
      "process); retained: after "
      "the map and its policy were destroyed. Pool: %s slots. Wrote %s (%.1f s).\n",
      FormatCount(static_cast<double>(pool_slots)), run.out_dir.string(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
