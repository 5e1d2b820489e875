// bazel run //experiments:persistent_churn [-- --n=10K,1M --policies=bump_pool,slot_recycler ...]
//
// Allocation under persistent updates: N keys built, then updates from a fixed-seed stream on a
// hamt::PersistentMap keeping its versions in three patterns (newest only, the last H, a random
// H), beside the same updates on a hamt::Map in place, for every allocator policy. Each cell runs
// in a process of its own (churn.h). One binary per process malloc (persistent_churn_<malloc>);
// results go to results/persistent_churn/<malloc>/ (experiments/RESULTS_SCHEMA.md).
#include <algorithm>
#include <chrono>
#include <cstdint>
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
#include "experiments/persistent_churn/churn.h"

ABSL_FLAG(std::string, n, "10K,1M", "map sizes N built before the updates, comma-separated");
ABSL_FLAG(std::uint64_t, updates, 0, "updates after each build (0: as many as N)");
ABSL_FLAG(std::string, retentions, "in_place,newest,last_h,random",
          "in_place: hamt::Map updated in place (the baseline); newest: a hamt::PersistentMap "
          "dropping its previous version after each update; last_h: keeping the last --history "
          "versions; random: keeping --history versions, each new one replacing a random one");
ABSL_FLAG(std::uint64_t, history, 16, "versions kept by last_h and random, the newest included");
ABSL_FLAG(std::uint64_t, samples, 100, "demand samples per cell after the built map's");

namespace {

namespace fs = std::filesystem;
namespace pc = experiments::persistent_churn;
using experiments::FlagError;
using experiments::FormatCount;
using CF = experiments::schema::ChurnCell::Field;

constexpr const char* kProgram = "persistent_churn";
constexpr const char* kUsage =
    "Allocation under persistent updates, every retention pattern and policy: bazel run "
    "//experiments:persistent_churn [-- --n=10K,1M --policies=bump_pool,slot_recycler]";

void Note(const std::string& note) { experiments::Note(note); }

std::string Cell(const pc::CellRecord& r, CF field, double scale = 1) {
  return r.IsNull(field) ? "-" : FormatCount(r.Float(field) * scale);
}

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  allocators::CheckProcessMallocOrDie();
  if (const std::string cell = experiments::CellFlag(); !cell.empty()) {
    return experiments::CellProcessMain(argc, argv, cell, pc::DecodeSpec, pc::RunCell);
  }
  const std::string process_malloc = HAMT_EXPECTED_PROCESS_MALLOC;

  std::vector<std::uint64_t> ns;
  for (std::uint64_t n :
       experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000)) {
    if (std::find(ns.begin(), ns.end(), n) == ns.end()) ns.push_back(n);  // each N once
  }
  const std::uint64_t updates_flag = absl::GetFlag(FLAGS_updates);
  if (updates_flag > 1'000'000'000) FlagError("updates", "must be at most 1000000000");
  const std::vector<pc::Retention> retentions = experiments::ParseNameList<pc::Retention>(
      "retentions", absl::GetFlag(FLAGS_retentions), pc::kAllRetentions, pc::RetentionName,
      "retention");
  const std::uint64_t history = absl::GetFlag(FLAGS_history);
  if (history < 1 || history > 1'000'000) FlagError("history", "must be in [1, 1000000]");
  const std::uint64_t samples = absl::GetFlag(FLAGS_samples);
  if (samples < 1 || samples > 100'000) FlagError("samples", "must be in [1, 100000]");

  experiments::CellRun run = experiments::OpenCellRun(argc, argv, kProgram, process_malloc);
  const std::vector<std::string>& policies = run.policies;
  const std::uint64_t pool_slots = run.pool_slots;
  const bool quiet = run.quiet;
  const std::size_t total = ns.size() * retentions.size() * policies.size();
  if (!quiet) {
    std::cerr << absl::StrFormat(
        "%s: %d cells (%d N x %d retentions x %d policies), history %d, process malloc %s, each "
        "cell in a fresh process\n",
        kProgram, total, ns.size(), retentions.size(), policies.size(), history,
        allocators::DetectProcessMalloc().NameAndVersion());
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<pc::CellRecord> cells;
  std::vector<pc::SampleRecord> all_samples;
  for (std::uint64_t n : ns) {
    const std::uint64_t updates = updates_flag == 0 ? n : updates_flag;
    for (pc::Retention retention : retentions) {
      for (const std::string& policy : policies) {
        experiments::ThrowIfInterrupted();
        const pc::CellSpec spec{
            .retention = retention, .policy = policy, .n = n, .updates = updates,
            .history = history,
            .sample_every = std::max<std::uint64_t>(1, (updates + samples - 1) / samples),
            .pool_slots = pool_slots, .process_malloc = process_malloc};
        pc::CellResult result = experiments::RunCellWithProgress<pc::CellResult>(
            run, kProgram, cells.size() + 1, total, pc::CellName(spec), pc::EncodeSpec(spec), CF::kSeconds);
        cells.push_back(std::move(result.cell));
        for (auto& s : result.samples) all_samples.push_back(std::move(s));
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  experiments::ThrowIfInterrupted();  // Ctrl-C after the last cell: still nothing published

  const nlohmann::ordered_json config = {{"n", absl::StrJoin(ns, ",")},
                                         {"updates", updates_flag},
                                         {"policies", absl::StrJoin(policies, ",")},
                                         {"retentions", absl::GetFlag(FLAGS_retentions)},
                                         {"history", history},
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
  run.store->Write("persistent_churn.json", json.dump(1) + "\n");
  run.store->Write("persistent_churn.csv", experiments::CsvDocument(cells));
  run.store->Write("persistent_churn_samples.csv", experiments::CsvDocument(all_samples));
  run.store->Publish();

  constexpr const char* kFormat =
      "%-9s %-17s %9s | %9s %9s %9s | %9s %10s %9s | %10s %10s\n";
  std::cout << absl::StrFormat(kFormat, "retention", "policy", "N", "allocs/u", "frees/u",
                               "slots/u", "ns/u", "u->exhaust", "fallbacks", "live KiB",
                               "peak RSS MiB");
  std::cout << std::string(130, '-') << "\n";
  for (const auto& r : cells) {
    std::cout << absl::StrFormat(
        kFormat, r.Str(CF::kRetention), r.Str(CF::kPolicy), FormatCount(r.Float(CF::kN)),
        absl::StrFormat("%.2f", r.Float(CF::kAllocationsPerUpdate)),
        absl::StrFormat("%.2f", r.Float(CF::kFreesPerUpdate)),
        absl::StrFormat("%.1f", r.Float(CF::kSlotsPerUpdate)),
        absl::StrFormat("%.0f", r.Float(CF::kNsPerUpdate)), Cell(r, CF::kUpdatesToExhaust),
        Cell(r, CF::kFallbackAllocations), Cell(r, CF::kLiveBytesEnd, 1.0 / 1024),
        absl::StrFormat("%.1f", r.Float(CF::kPeakRssKb) / 1024));
  }
  std::cout << absl::StrFormat(
      "Per update (u): counts over the updates alone. u->exhaust: the updates a %s-slot pool, "
      "empty at the first update, serves (pools that never reuse a block). ns/u is one run's wall time: the "
      "allocator matrix times properly. Wrote %s (%.1f s).\n",
      FormatCount(static_cast<double>(pool_slots)), run.out_dir.string(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
