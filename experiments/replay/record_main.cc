// bazel run //experiments:record -- [--workload=study_build] [--n=100K] [--seed=0] [--trace=PATH]
// bazel run //experiments:record -- --heaptrack=OUT.raw.zst [--trace=PATH]
//
// Runs one experiment workload on the study's map (experiments/replay/workloads.h) with every
// allocation and free recorded, and writes the allocation trace (allocators/trace/trace_file.h;
// layout in experiments/RESULTS_SCHEMA.md) for //experiments:replay. Prints what it wrote. With
// --heaptrack, the trace is imported from heaptrack's recording of any program (heaptrack.h).
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "allocators/private_library.h"
#include "allocators/trace/trace_file.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/replay/heaptrack.h"
#include "experiments/replay/trace_header.h"
#include "experiments/replay/workloads.h"

ABSL_FLAG(std::string, workload, "study_build",
          "study_build (keys 0..N-1, value i*10, then every key queried: the pool-exhaustion "
          "study's build), insert_seq, insert_shuffled or erase_all (the allocator matrix's)");
ABSL_FLAG(std::string, n, "100K", "keys (K and M suffixes allowed)");
ABSL_FLAG(std::uint64_t, seed, 0, "hash seed (0: the default hash, the one the study times)");
ABSL_FLAG(std::string, heaptrack, "",
          "instead of a workload, import this heaptrack recording of any program (heaptrack -r "
          "-o OUT PROGRAM ARGS writes OUT.raw.zst; needs zstd, or give it decompressed; relative "
          "paths are under the workspace); --workload, --n and --seed are then not used; default "
          "trace results/traces/heaptrack_<name>.trace");
ABSL_FLAG(std::string, trace, "",
          "the trace file to write (relative paths are under the workspace; default "
          "results/traces/<workload>_<n>.trace)");

namespace {

namespace fs = std::filesystem;
using experiments::FlagError;
using experiments::FormatCount;
using experiments::replay::Workload;

constexpr const char* kProgram = "record";
constexpr const char* kUsage =
    "Records an experiment workload's allocation trace: bazel run //experiments:record -- "
    "--workload=study_build --n=100K";

// The trace file's path: --trace, or results/traces/<stem>.trace; its directory is made.
fs::path TracePath(const std::string& stem) {
  fs::path path = absl::GetFlag(FLAGS_trace);
  if (path.empty()) path = fs::path("results/traces") / (stem + ".trace");
  if (path.is_relative()) path = experiments::WorkspaceDirectory() / path;
  try {
    experiments::PrepareOutputDirectory(path.parent_path().string());
  } catch (const experiments::OutputError& error) {
    FlagError("trace", error.what());
  }
  return path;
}

// Checks the trace, writes it and prints what it wrote (`what`: where the traffic came from).
void Publish(const fs::path& path, const allocators::trace::Trace& trace, const std::string& what) {
  const allocators::trace::TraceSummary summary = allocators::trace::CheckTrace(trace);
  std::ostringstream out;
  allocators::trace::WriteTrace(trace, out);
  const std::string bytes = std::move(out).str();
  experiments::WriteFileAtomically(path, bytes);
  const std::uint64_t events = trace.events.size();
  const std::uint64_t file_bytes = bytes.size();
  std::cout << absl::StrFormat(
      "Wrote %s: %s: %s events (%s allocations, %s frees) in %s bytes, %.2f bytes per event "
      "with the header.\nPeak live bytes %s in %s blocks (the lower bound on memory for this "
      "trace); %s clock values.\n",
      path.string(), what, FormatCount(static_cast<double>(events)),
      FormatCount(static_cast<double>(summary.allocations)),
      FormatCount(static_cast<double>(summary.frees)), FormatCount(static_cast<double>(file_bytes)),
      events == 0 ? 0.0 : static_cast<double>(file_bytes) / static_cast<double>(events),
      FormatCount(static_cast<double>(summary.peak_live_bytes)),
      FormatCount(static_cast<double>(summary.peak_live_blocks)),
      FormatCount(static_cast<double>(
          experiments::replay::DecodeTraceHeader(trace)
              .Int(experiments::schema::TraceHeader::Field::kMapOperations))));
}

int ImportMain(const std::string& recording) {
  experiments::replay::HeaptrackImport imported;
  fs::path file = recording;
  if (file.is_relative()) file = experiments::WorkspaceDirectory() / file;  // as --trace
  try {
    imported = experiments::replay::ImportHeaptrackFile(file);
  } catch (const experiments::replay::HeaptrackError& error) {
    experiments::Fail(absl::StrCat(recording, ": ", error.what()), experiments::kUsageErrorExit);
  } catch (const std::runtime_error& error) {
    FlagError("heaptrack", error.what());
  }
  std::string stem = fs::path(recording).filename().string();
  for (const char* suffix : {".zst", ".raw"}) {
    if (absl::EndsWith(stem, suffix)) stem.resize(stem.size() - std::string_view(suffix).size());
  }
  const fs::path path = TracePath("heaptrack_" + stem);
  std::cerr << absl::StrFormat(
      "%s: %s: %s allocations, %s frees; dropped %s frees of blocks allocated before the "
      "recording; added %s missed frees; %s blocks never freed\n",
      kProgram, imported.program, FormatCount(static_cast<double>(imported.allocations)),
      FormatCount(static_cast<double>(imported.frees)),
      FormatCount(static_cast<double>(imported.unknown_frees)),
      FormatCount(static_cast<double>(imported.implicit_frees)),
      FormatCount(static_cast<double>(imported.blocks_never_freed)));
  Publish(path, imported.trace, "heaptrack's recording of " + imported.program);
  return 0;
}

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  if (const std::string recording = absl::GetFlag(FLAGS_heaptrack); !recording.empty()) {
    return ImportMain(recording);
  }
  const std::vector<Workload> workloads = experiments::ParseNameList<Workload>(
      "workload", absl::GetFlag(FLAGS_workload), experiments::replay::kAllWorkloads,
      experiments::replay::WorkloadName, "workload");
  if (workloads.size() != 1) FlagError("workload", "one workload per trace");
  const Workload workload = workloads[0];
  const std::vector<std::uint64_t> ns =
      experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000);
  if (ns.size() != 1) FlagError("n", "one N per trace");
  const std::uint64_t n = ns[0];
  const fs::path path =
      TracePath(absl::StrCat(experiments::replay::WorkloadName(workload), "_", n));
  experiments::InstallInterruptHandler();

  std::cerr << kProgram << ": recording " << experiments::replay::WorkloadName(workload)
            << ", N = " << FormatCount(static_cast<double>(n)) << "\n";
  const experiments::replay::Recording recording =
      experiments::replay::RecordWorkload(workload, n, absl::GetFlag(FLAGS_seed));
  Publish(path, recording.trace,
          absl::StrCat(experiments::replay::WorkloadName(workload), ", N = ",
                       FormatCount(static_cast<double>(n))));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
