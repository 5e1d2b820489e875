// bazel run //experiments:replay -- TRACE [--policies=LIST] [--repetitions=5] [--pool_slots=65536]
//
// Replays an allocation trace (bazel run //experiments:record) against every allocator policy of
// allocators/registry.h, each in a fresh child process, plus the null policy that only walks the
// trace (its times are the replay's own cost, subtracted in the net columns). Prints a table to
// stdout (progress to stderr) and writes replay.csv and replay.json (experiments/RESULTS_SCHEMA.md)
// through the run store. A bad or truncated trace stops at once with one line naming the byte
// offset, and exit status 2.
//
// Built once per process malloc (replay_glibc, _mimalloc, _jemalloc, _tcmalloc);
// //experiments:replay runs each of them in turn (experiments/common/per_malloc.sh).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "allocators/trace/trace_file.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/common/records.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/common/statistics.h"
#include "experiments/replay/replay.h"
#include "experiments/replay/trace_header.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, policies, "",
          "policies to replay against, comma-separated (default: every policy of "
          "allocators/registry.h); the null walk always runs first");
ABSL_FLAG(int, repetitions, 5, "replays per policy, each with a fresh policy (median reported)");
ABSL_FLAG(std::string, pool_slots, "65536",
          "pool capacity in 8-byte slots for bump_pool and slot_recycler (the study's 65,536 by "
          "default; they fall back to malloc beyond it)");
ABSL_FLAG(std::string, out, "",
          "output directory (relative paths are under the workspace; default results/replay/<the "
          "process malloc's name>, e.g. results/replay/glibc, so that the replay_<malloc> "
          "binaries keep their results apart); see RESULTS_SCHEMA.md");
ABSL_FLAG(bool, wait_for_lock, false,
          "when another run is using --out, wait for it instead of failing at once");

namespace {

namespace fs = std::filesystem;
using experiments::FlagError;
using experiments::FormatCount;
using experiments::replay::ReplayResult;
using RowRecord = experiments::Record<experiments::schema::ReplayRow>;
using F = experiments::schema::ReplayRow::Field;

constexpr const char* kProgram = "replay";
constexpr const char* kUsage =
    "Replays an allocation trace against every allocator policy: bazel run //experiments:replay "
    "-- TRACE [--policies=LIST]";

std::vector<std::string> ParsePolicies(const std::string& text) {
  constexpr std::string_view kNull = experiments::replay::kNullPolicy;
  std::vector<absl::string_view> known = {absl::string_view(kNull.data(), kNull.size())};
  for (std::string_view name : allocators::PolicyNames()) known.emplace_back(name.data(), name.size());
  std::vector<std::string> chosen = {std::string(experiments::replay::kNullPolicy)};
  if (text.empty()) {
    for (std::size_t i = 1; i < known.size(); ++i) chosen.emplace_back(known[i]);
    return chosen;
  }
  for (std::size_t i : experiments::ParseNameList("policies", text, known, "policy")) {
    if (i != 0) chosen.emplace_back(known[i]);
  }
  return chosen;
}

RowRecord MakeRow(const ReplayResult& r, const ReplayResult& null,
                  const experiments::replay::TraceHeader& header, const std::string& trace_name,
                  std::uint64_t events, const std::string& process_malloc,
                  std::uint64_t pool_slots, int repetitions) {
  using H = experiments::schema::TraceHeader::Field;
  const bool is_null = r.policy == experiments::replay::kNullPolicy;
  const allocators::PolicyInfo* info = allocators::FindPolicy(r.policy);
  const bool has_pool = info != nullptr && info->owns_pool;
  // A median, or null when the kind of call was never timed (too few of them in the trace).
  auto median = [](const std::vector<double>& reps) -> experiments::Value {
    if (reps.empty()) return std::monostate{};
    return experiments::Median(reps);
  };
  // This policy's median minus the null walk's, null when either is.
  auto net = [&](const std::vector<double>& reps,
                 const std::vector<double>& null_reps) -> experiments::Value {
    if (is_null || reps.empty() || null_reps.empty()) return std::monostate{};
    return experiments::Median(reps) - experiments::Median(null_reps);
  };
  return experiments::RecordFrom<experiments::schema::ReplayRow>(
      [&](F field) -> experiments::Value {
        switch (field) {  // no default: a new schema field must be written here
          case F::kSchemaVersion: return std::int64_t{experiments::schema::kVersion};
          case F::kTrace: return trace_name;
          case F::kWorkload: return header.Str(H::kWorkload);
          case F::kN: return header.Int(H::kN);
          case F::kEvents: return static_cast<std::int64_t>(events);
          case F::kProcessMalloc: return process_malloc;
          case F::kPolicy: return r.policy;
          case F::kPoolSlots: return static_cast<std::int64_t>(has_pool ? pool_slots : 0);
          case F::kRepetitions: return std::int64_t{repetitions};
          case F::kNsPerEvent: return median(r.ns_per_event);
          case F::kNetNsPerEvent: return net(r.ns_per_event, null.ns_per_event);
          case F::kNsPerAlloc: return median(r.ns_per_alloc);
          case F::kNsPerFree: return median(r.ns_per_free);
          case F::kNetNsPerAlloc: return net(r.ns_per_alloc, null.ns_per_alloc);
          case F::kNetNsPerFree: return net(r.ns_per_free, null.ns_per_free);
          case F::kNsPerEventReps: return r.ns_per_event;
          case F::kNsPerAllocReps: return r.ns_per_alloc;
          case F::kNsPerFreeReps: return r.ns_per_free;
          case F::kAllocations: return static_cast<std::int64_t>(r.stats.allocations);
          case F::kFrees: return static_cast<std::int64_t>(r.stats.deallocations);
          case F::kSlotsDemanded: return static_cast<std::int64_t>(r.stats.slots_demanded);
          case F::kFallbackAllocations:
            return static_cast<std::int64_t>(r.stats.fallback_allocations);
          case F::kFallbackPct: return allocators::FallbackPct(r.stats);
          case F::kReusedAllocations: return static_cast<std::int64_t>(r.stats.reused_allocations);
          case F::kHighWaterSlots: return static_cast<std::int64_t>(r.stats.high_water_slots);
          case F::kPeakLiveBytes: return static_cast<std::int64_t>(r.stats.peak_live_bytes);
          case F::kPeakRssKb: return static_cast<std::int64_t>(r.peak_rss_kb);
          case F::kRssGrowthKb: return static_cast<std::int64_t>(r.rss_growth_kb);
        }
        throw experiments::SchemaError("replay_row: unknown field");
      });
}

void PrintTable(const std::vector<RowRecord>& rows, const std::string& trace_name,
                const experiments::replay::TraceHeader& header) {
  using H = experiments::schema::TraceHeader::Field;
  const RowRecord& first = rows.front();
  std::cout << absl::StrFormat(
      "Replay of %s (%s, N = %s, %s events: %s allocations, %s frees), process malloc %s, "
      "median of %d:\n",
      trace_name, header.Str(H::kWorkload), FormatCount(header.Float(H::kN)),
      FormatCount(first.Float(F::kEvents)), FormatCount(first.Float(F::kAllocations)),
      FormatCount(first.Float(F::kFrees)), first.Str(F::kProcessMalloc),
      static_cast<int>(first.Int(F::kRepetitions)));
  constexpr const char* kFormat =
      "%-15s %8s %8s %8s | %8s %9s %8s | %12s %10s %8s | %9s %9s\n";
  std::cout << absl::StrFormat(kFormat, "policy", "ns/event", "ns/alloc", "ns/free", "net/ev",
                               "net/alloc", "net/free", "slots", "fallbacks", "fallback",
                               "peak RSS", "RSS grow");
  std::cout << std::string(128, '-') << "\n";
  auto ns = [](const RowRecord& r, F f) {
    return r.IsNull(f) ? std::string("-") : absl::StrFormat("%.1f", r.Float(f));
  };
  for (const RowRecord& r : rows) {
    std::cout << absl::StrFormat(
        kFormat, r.Str(F::kPolicy), ns(r, F::kNsPerEvent), ns(r, F::kNsPerAlloc),
        ns(r, F::kNsPerFree), ns(r, F::kNetNsPerEvent), ns(r, F::kNetNsPerAlloc),
        ns(r, F::kNetNsPerFree), FormatCount(r.Float(F::kSlotsDemanded)),
        FormatCount(r.Float(F::kFallbackAllocations)),
        absl::StrFormat("%.2f%%", r.Float(F::kFallbackPct)),
        absl::StrFormat("%.1f MiB", r.Float(F::kPeakRssKb) / 1024),
        absl::StrFormat("%.1f MiB", r.Float(F::kRssGrowthKb) / 1024));
  }
  std::cout << absl::StrFormat(
      "Peak live bytes: %s for every policy (checked): the lower bound on memory for this trace.\n"
      "net = minus the null walk (the replay's own cost). ns/alloc and ns/free: one call in "
      "every %d to %d (random gaps, fixed seed) timed alone; - when too few. The null walk ran "
      "%.1fM events/s.\n",
      FormatCount(first.Float(F::kPeakLiveBytes)), experiments::replay::kSampleGapMin,
      experiments::replay::kSampleGapMax, 1e3 / first.Float(F::kNsPerEvent));
}

int Main(int argc, char** argv) {
  const std::vector<std::string> arguments =
      experiments::ParseFlagsAndArgumentsOrExit(argc, argv, kUsage, 1, kProgram);
  if (arguments.empty()) {
    experiments::Fail("missing TRACE: the trace file to replay (see --help)",
                      experiments::kUsageErrorExit);
  }
  const std::vector<std::string> policies = ParsePolicies(absl::GetFlag(FLAGS_policies));
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (repetitions < 1 || repetitions > 1000) FlagError("repetitions", "must be in [1, 1000]");
  // A pool needs no more than this machine's memory: 8-byte slots, so RAM / 8 of them.
  const std::uint64_t ram_bytes = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                  static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::vector<std::uint64_t> pools = experiments::ParseCountList(
      "pool_slots", absl::GetFlag(FLAGS_pool_slots), 0, std::uint64_t{1} << 50);
  if (pools.size() != 1) FlagError("pool_slots", "one pool size per run");
  if (pools[0] > ram_bytes / 8) {
    FlagError("pool_slots", absl::StrFormat("%d slots (%.1f GiB) exceed this machine's memory "
                                            "(%.1f GiB, %d slots)",
                                            pools[0], static_cast<double>(pools[0]) * 8 / (1 << 30),
                                            static_cast<double>(ram_bytes) / (1 << 30),
                                            ram_bytes / 8));
  }
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = pools[0], .quiet = true};

  fs::path trace_path = arguments[0];
  if (trace_path.is_relative()) trace_path = experiments::WorkspaceDirectory() / trace_path;
  const std::string trace_name = trace_path.filename().string();
  allocators::trace::Trace trace;
  allocators::trace::TraceSummary summary;
  std::optional<experiments::replay::TraceHeader> header;
  try {
    trace = allocators::trace::ReadTrace(trace_path);
    header = experiments::replay::DecodeTraceHeader(trace);
    summary = allocators::trace::CheckTrace(trace);
    experiments::replay::CheckReplayable(trace, summary);
  } catch (const std::exception& error) {  // TraceError (with its offset), or an unreadable file
    experiments::Fail(absl::StrCat(trace_path.string(), ": ", error.what()),
                      experiments::kUsageErrorExit);
  }

  const allocators::ProcessMalloc process_malloc = allocators::DetectProcessMalloc();
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) out = absl::StrCat("results/replay/", process_malloc.name);
  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(out);
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  std::optional<experiments::RunStore> store;
  try {
    store.emplace(experiments::RunStore::Open(
        out_dir, kProgram, absl::GetFlag(FLAGS_wait_for_lock),
        [](const std::string& note) { experiments::Note(note); }));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  experiments::InstallInterruptHandler();

  const auto start = std::chrono::steady_clock::now();
  std::vector<ReplayResult> results;
  for (const std::string& policy : policies) {
    experiments::ThrowIfInterrupted();
    std::cerr << absl::StrFormat("%s: %s: %d replays of %s events\n", kProgram, policy,
                                 repetitions, FormatCount(static_cast<double>(trace.events.size())));
    try {
      results.push_back(
          experiments::replay::ReplayInChild(trace, summary, policy, options, repetitions));
    } catch (const std::runtime_error&) {
      experiments::ThrowIfInterrupted();  // Ctrl-C stopped the child too: say so, exit 130
      throw;
    }
    // Every policy is told the same sizes, so each one's peak of live bytes is the trace's.
    if (results.back().stats.peak_live_bytes != summary.peak_live_bytes ||
        results.back().stats.allocations != summary.allocations) {
      throw std::runtime_error(absl::StrCat(
          policy, ": ", results.back().stats.allocations, " allocations and peak live bytes ",
          results.back().stats.peak_live_bytes, ", the trace has ", summary.allocations, " and ",
          summary.peak_live_bytes));
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<RowRecord> rows;
  for (const ReplayResult& r : results) {
    rows.push_back(MakeRow(r, results.front(), *header, trace_name, trace.events.size(),
                           process_malloc.NameAndVersion(), pools[0], repetitions));
  }
  const nlohmann::ordered_json config = {
      {"trace", trace_path.string()},
      {"trace_events", trace.events.size()},
      {"policies", absl::StrJoin(policies, ",")},
      {"repetitions", repetitions},
      {"pool_slots", pools[0]},
      {"process_malloc", process_malloc.NameAndVersion()},
      {"sample_gap_calls", {experiments::replay::kSampleGapMin, experiments::replay::kSampleGapMax}},
      {"binary", experiments::BinaryFingerprint()}};
  const std::string run_id = experiments::RunStore::NewRunId();
  auto metadata = experiments::NewRunMetadata(kProgram, "default", run_id, argc, argv, config);
  using M = experiments::schema::RunMetadata::Field;
  metadata.Set(M::kComplete, true).Set(M::kDurationSeconds, seconds);
  store->StartNew(run_id, [](const std::string&) {});
  nlohmann::ordered_json json;
  json["metadata"] = metadata.Json();
  json["trace"] = header->Json();
  json["rows"] = experiments::JsonArray(rows);
  store->Write("replay.json", json.dump(2) + "\n");
  store->Write("replay.csv", experiments::CsvDocument(rows));
  store->Publish();

  PrintTable(rows, trace_name, *header);
  std::cout << absl::StrFormat("Wrote %s and %s (%.1f s).\n", (out_dir / "replay.csv").string(),
                               (out_dir / "replay.json").string(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  allocators::CheckProcessMallocOrDie();
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
