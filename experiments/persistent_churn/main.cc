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
#include "experiments/common/shards.h"
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

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  allocators::CheckProcessMallocOrDie();
  if (const std::string cell = experiments::CellFlag(); !cell.empty()) {
    return experiments::CellProcessMain(argc, argv, cell, pc::DecodeSpec, pc::RunCell);
  }
  const std::string process_malloc = HAMT_EXPECTED_PROCESS_MALLOC;

  pc::Settings settings;
  for (std::uint64_t n :
       experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000)) {
    if (std::find(settings.ns.begin(), settings.ns.end(), n) == settings.ns.end()) {
      settings.ns.push_back(n);  // each N once
    }
  }
  settings.updates = absl::GetFlag(FLAGS_updates);
  if (settings.updates > 1'000'000'000) FlagError("updates", "must be at most 1000000000");
  settings.retentions = experiments::ParseNameList<pc::Retention>(
      "retentions", absl::GetFlag(FLAGS_retentions), pc::kAllRetentions, pc::RetentionName,
      "retention");
  settings.history = absl::GetFlag(FLAGS_history);
  if (settings.history < 1 || settings.history > 1'000'000) {
    FlagError("history", "must be in [1, 1000000]");
  }
  settings.samples = absl::GetFlag(FLAGS_samples);
  if (settings.samples < 1 || settings.samples > 100'000) {
    FlagError("samples", "must be in [1, 100000]");
  }
  const std::optional<experiments::Shard> shard = experiments::ShardFlag();
  if (shard) settings.shard = experiments::ShardName(*shard);
  settings.binary = experiments::BinaryFingerprint();

  experiments::CellRun run = experiments::OpenCellRun(argc, argv, pc::kFiles.stem, process_malloc);
  settings.policies = run.policies;
  settings.pool_slots = run.pool_slots;
  const bool quiet = run.quiet;
  const std::vector<pc::CellSpec> plan = pc::PlanCells(settings, process_malloc);
  std::vector<std::uint64_t> costs;
  for (const pc::CellSpec& spec : plan) costs.push_back(pc::CellCost(spec));
  const std::vector<std::size_t> mine = experiments::ItemsOf(shard, costs);
  if (!quiet) {
    std::cerr << absl::StrFormat(
        "%s: %s%d cells (%d N x %d retentions x %d policies%s), history %d, process malloc %s, "
        "each cell in a fresh process\n",
        kProgram, shard ? absl::StrCat("shard ", settings.shard, ": ") : "", mine.size(),
        settings.ns.size(), settings.retentions.size(), settings.policies.size(),
        shard ? absl::StrCat(": ", plan.size(), " in all") : "", settings.history,
        allocators::DetectProcessMalloc().NameAndVersion());
  }
  const pc::Results results = experiments::MeasureAndPublishCells<pc::CellResult>(
      argc, argv, run, kProgram, plan, mine, settings.ToJson(), pc::kFiles, CF::kSeconds);
  const double seconds =
      results.metadata.Float(experiments::schema::RunMetadata::Field::kDurationSeconds);

  std::cout << pc::FormatCells(results.cells);
  std::cout << absl::StrFormat(
      "Per update (u): counts over the updates alone. u->exhaust: the updates a %s-slot pool, "
      "empty at the first update, serves (pools that never reuse a block). ns/u is one run's wall "
      "time: the allocator matrix times properly. Wrote %s (%.1f s).%s\n",
      FormatCount(static_cast<double>(settings.pool_slots)), run.out_dir.string(), seconds,
      experiments::MergeHint(shard));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
