// bazel run //experiments:record -- [--workload=study_build] [--n=100K] [--seed=0] [--trace=PATH]
//
// Runs one experiment workload on the study's map (experiments/replay/workloads.h) with every
// allocation and free recorded, and writes the allocation trace (allocators/trace/trace_file.h;
// layout in experiments/RESULTS_SCHEMA.md) for //experiments:replay. Prints what it wrote.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "allocators/private_library.h"
#include "allocators/trace/trace_file.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/replay/trace_header.h"
#include "experiments/replay/workloads.h"

ABSL_FLAG(std::string, workload, "study_build",
          "study_build (keys 0..N-1, value i*10, then every key queried: the pool-exhaustion "
          "study's build), insert_seq, insert_shuffled or erase_all (the allocator matrix's)");
ABSL_FLAG(std::string, n, "100K", "keys (K and M suffixes allowed)");
ABSL_FLAG(std::uint64_t, seed, 0, "hash seed (0: the default hash, the one the study times)");
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

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  const std::vector<Workload> workloads = experiments::ParseNameList<Workload>(
      "workload", absl::GetFlag(FLAGS_workload), experiments::replay::kAllWorkloads,
      experiments::replay::WorkloadName, "workload");
  if (workloads.size() != 1) FlagError("workload", "one workload per trace");
  const Workload workload = workloads[0];
  const std::vector<std::uint64_t> ns =
      experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000);
  if (ns.size() != 1) FlagError("n", "one N per trace");
  const std::uint64_t n = ns[0];
  fs::path path = absl::GetFlag(FLAGS_trace);
  if (path.empty()) {
    path = fs::path("results/traces") /
           absl::StrCat(experiments::replay::WorkloadName(workload), "_", n, ".trace");
  }
  if (path.is_relative()) path = experiments::WorkspaceDirectory() / path;
  try {
    experiments::PrepareOutputDirectory(path.parent_path().string());
  } catch (const experiments::OutputError& error) {
    FlagError("trace", error.what());
  }
  experiments::InstallInterruptHandler();

  std::cerr << kProgram << ": recording " << experiments::replay::WorkloadName(workload)
            << ", N = " << FormatCount(static_cast<double>(n)) << "\n";
  const experiments::replay::Recording recording =
      experiments::replay::RecordWorkload(workload, n, absl::GetFlag(FLAGS_seed));
  const allocators::trace::TraceSummary summary = allocators::trace::CheckTrace(recording.trace);
  std::ostringstream out;
  allocators::trace::WriteTrace(recording.trace, out);
  const std::string bytes = std::move(out).str();
  experiments::WriteFileAtomically(path, bytes);

  const std::uint64_t events = recording.trace.events.size();
  const std::uint64_t file_bytes = bytes.size();
  std::cout << absl::StrFormat(
      "Wrote %s: %s, N = %s: %s events (%s allocations, %s frees) in %s bytes, %.2f bytes per "
      "event with the header.\nPeak live bytes %s in %s blocks (the lower bound on memory for "
      "this trace); %s map operations (its destruction included).\n",
      path.string(), experiments::replay::WorkloadName(workload),
      FormatCount(static_cast<double>(n)), FormatCount(static_cast<double>(events)),
      FormatCount(static_cast<double>(summary.allocations)),
      FormatCount(static_cast<double>(summary.frees)), FormatCount(static_cast<double>(file_bytes)),
      events == 0 ? 0.0 : static_cast<double>(file_bytes) / static_cast<double>(events),
      FormatCount(static_cast<double>(summary.peak_live_bytes)),
      FormatCount(static_cast<double>(summary.peak_live_blocks)),
      FormatCount(static_cast<double>(
          experiments::replay::DecodeTraceHeader(recording.trace)
              .Int(experiments::schema::TraceHeader::Field::kMapOperations))));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
