// experiments/common/cells.h: what the experiments that run every cell in a process of its own
// share (memory_timeline, persistent_churn): the policies their --policies flag names, the checks
// made before anything is measured, and the cell's process itself.
//
// A cell's RSS is a property of its whole process, so the driver executes itself
// (/proc/self/exe) with --cell=<the cell's spec>; that process runs the one cell and prints its
// report (a CellReport, records.h) on stdout, which RunCellInChild reads back. (A fork() alone
// would not do: the child inherits the parent's heap, results so far included.)
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_CELLS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_CELLS_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "allocators/private_library.h"
#include "allocators/registry.h"
#include "experiments/common/cell_results.h"
#include "experiments/common/child_process.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/records.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/common/shards.h"

namespace experiments {

// The exit status of a --cell process interrupted by Ctrl-C.
inline constexpr int kCellInterruptedExit = 130;

// The flags every cell experiment has, defined once (cells.cc): --policies (registry lines; empty:
// all), --pool_slots (one capacity), --out, --quiet, --wait_for_lock, and the internal --cell.
// What the driver reads of them, after ParseFlagsOrExit, when --cell is empty (CellFlag()):
struct CellRun {
  std::vector<std::string> policies;
  std::uint64_t pool_slots = 0;
  bool quiet = false;
  std::filesystem::path out_dir;
  std::optional<RunStore> store;  // open and locked on out_dir
};

// --cell's value: "" in the driver.
std::string CellFlag();

// Reads the shared flags (exit 2 naming a bad one), prepares the policies (PreparePolicies),
// opens the run store `stem` in --out (default results/<stem>/<process_malloc>) and installs the
// interrupt handler.
CellRun OpenCellRun(int argc, char** argv, const std::string& stem,
                    const std::string& process_malloc);

// The registry lines a --policies value names, in the order given; every line for "". Exits
// through FlagError(flag) on an unknown name.
std::vector<std::string> RegistryPoliciesFromFlag(absl::string_view flag, const std::string& value);

// Before anything is measured: re-executes the program with the static-TLS tunable when a policy
// needs it (allocators/private_library.h), and exits through FlagError("pool_slots") when a pool
// of `pool_slots` slots cannot be reserved on this machine.
void PreparePolicies(int argc, char** argv, const std::vector<std::string>& policies,
                     std::uint64_t pool_slots);

// The main of a --cell process. `decode(encoded)` makes the spec (std::invalid_argument: a bad
// --cell, exit 2), whose `policy` is a registry line; `run(spec)` measures and returns the cell's
// CellReport, printed on stdout. Ctrl-C: nothing printed, exit kCellInterruptedExit.
template <class Decode, class Run>
int CellProcessMain(int argc, char** argv, const std::string& encoded, Decode decode, Run run) {
  decltype(decode(encoded)) spec;
  try {
    spec = decode(encoded);
  } catch (const std::invalid_argument& error) {
    FlagError("cell", error.what());
  }
  if (allocators::FindPolicy(spec.policy)->needs_static_tls) {
    allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  }
  InstallInterruptHandler();
  try {
    const auto report = run(spec);
    ThrowIfInterrupted();  // a report from an interrupted cell is not sent
    std::cout << report.Serialize();
  } catch (const Interrupted&) {
    return kCellInterruptedExit;
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

// Runs `executable --cell=<encoded_spec>` (this program: "/proc/self/exe") in a child process
// (RunProgramInChild) and returns its report. Throws Interrupted when the child was interrupted,
// std::runtime_error starting with `what` (the cell's name) when it failed or died (the child's own
// error line is on stderr, above) or its report is not one.
template <class Report>
Report RunCellInChild(const std::string& what, const std::string& executable,
                      const std::string& encoded_spec,
                      const std::function<void(double seconds)>& heartbeat) {
  const ChildExit exit = RunProgramInChild(executable, {"--cell=" + encoded_spec}, heartbeat);
  if (exit.status == 0 && !InterruptRequested()) {
    try {
      return Report::Deserialize(exit.message);
    } catch (const SchemaError& e) {
      throw std::runtime_error(absl::StrCat(what, ": the cell process's report: ", e.what()));
    }
  }
  if (exit.status == kCellInterruptedExit || InterruptRequested()) throw Interrupted();
  throw std::runtime_error(absl::StrCat(what, ": the cell process ended with ",
                                        DescribeStatus(exit.status), " (its error is above)"));
}

// The driver's run of cell `index` (1-based) of `total`: RunCellInChild with progress on stderr
// unless run.quiet, "<program>: [i/total] <what>: still running (N s)" every 15 s and then the
// cell's own wall time, its `seconds_field`.
template <class Report>
Report RunCellWithProgress(const CellRun& run, absl::string_view program, std::size_t index,
                           std::size_t total, const std::string& what,
                           const std::string& encoded_spec,
                           typename decltype(Report::cell)::Field seconds_field) {
  const std::string label = absl::StrCat(program, ": [", index, "/", total, "] ", what);
  Report report = RunCellInChild<Report>(what, "/proc/self/exe", encoded_spec,
                                         [&](double seconds) {
    if (!run.quiet) {
      std::cerr << label << ": still running (" << static_cast<long>(seconds) << " s)\n";
    }
  });
  if (!run.quiet) {
    std::cerr << label << ": " << absl::StrFormat("%.2f", report.cell.Float(seconds_field))
              << " s\n";
  }
  return report;
}

// The run itself: measures the items `mine` of `plan` (all of them, or a shard's: ItemsOf), each
// cell in a process of its own and in plan order, with progress (RunCellWithProgress; a spec is
// named by CellName(spec) and passed as EncodeSpec(spec), the experiment's own); then publishes
// them in run.store as `files`, with the run's metadata (`config`, complete, the time taken).
// Ctrl-C: throws Interrupted, nothing published.
template <class Report, class Spec>
CellRunResults<typename decltype(Report::cell)::Schema,
               typename decltype(Report::samples)::value_type::Schema>
MeasureAndPublishCells(int argc, char** argv, CellRun& run, const std::string& program,
                       const std::vector<Spec>& plan, const std::vector<std::size_t>& mine,
                       const nlohmann::ordered_json& config, const CellFiles& files,
                       typename decltype(Report::cell)::Field seconds_field) {
  const auto start = std::chrono::steady_clock::now();
  CellRunResults<typename decltype(Report::cell)::Schema,
                 typename decltype(Report::samples)::value_type::Schema>
      results;
  for (std::size_t item : mine) {
    ThrowIfInterrupted();
    const Spec& spec = plan[item];
    Report report = RunCellWithProgress<Report>(run, program, results.cells.size() + 1,
                                                mine.size(), CellName(spec), EncodeSpec(spec),
                                                seconds_field);
    results.cells.push_back(std::move(report.cell));
    for (auto& sample : report.samples) results.samples.push_back(std::move(sample));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ThrowIfInterrupted();  // Ctrl-C after the last cell: still nothing published
  const std::string run_id = RunStore::NewRunId();
  results.metadata = NewRunMetadata(program, "default", run_id, argc, argv, config);
  results.metadata.Set(schema::RunMetadata::Field::kComplete, true)
      .Set(schema::RunMetadata::Field::kDurationSeconds, seconds);
  run.store->StartNew(run_id, [](const std::string& note) { Note(note); });
  PublishCellRun(*run.store, files, results);
  return results;
}

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_CELLS_H_
