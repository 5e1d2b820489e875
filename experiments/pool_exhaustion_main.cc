// bazel run //experiments:pool_exhaustion [-- --sweep | --n=... --pools=... | --help]
//
// Reproduces the reference pool-exhaustion study on this workbench's HAMT: fills the map with keys
// 0..N-1 (value i*10) over a bump pool, a slot recycler and plain malloc, queries every key, and
// prints our telemetry next to the study's, the six findings, and how big a pool must be.
// Results go to --out as CSV and JSON (see experiments/RESULTS_SCHEMA.md).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "allocators/bump_pool.h"
#include "allocators/process_malloc.h"
#include "allocators/slot_pool.h"
#include "experiments/common/flags.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/pool_exhaustion.h"

ABSL_FLAG(std::string, n, "1000,10000,50000,100000",
          "map sizes N, comma-separated (K and M suffixes allowed: 1K, 10M)");
ABSL_FLAG(std::string, pools, "65536,4194304", "pool capacities in 8-byte slots, comma-separated");
ABSL_FLAG(std::string, policies, "bump_pool,slot_recycler,malloc",
          "policies to run: bump_pool, slot_recycler, malloc (no pool: the baseline)");
ABSL_FLAG(int, repetitions, 5, "timed repetitions per cell; times are medians (sweep default: 1)");
ABSL_FLAG(double, headroom, 20.0, "headroom in percent for the recommended pool sizes");
ABSL_FLAG(std::string, out, "results/pool_exhaustion",
          "output directory for CSV and JSON (relative paths are under the workspace)");
ABSL_FLAG(bool, sweep, false,
          "sweep pools of 16,384..16,777,216 slots (powers of two) against N from 1K to 10M");
ABSL_FLAG(bool, quiet, false, "no progress lines on stderr");
ABSL_FLAG(bool, resume, false,
          "keep the rows already in the output CSV and measure only the missing cells");
ABSL_FLAG(std::string, reference, "",
          "reference study CSV (default: experiments/reference/pool_exhaustion_reference.csv)");
ABSL_FLAG(int, jobs, 0,
          "cells measured at once (0: 1, or every core for --sweep). Parallel cells share memory "
          "bandwidth: use 1 for timing-grade numbers; counts are the same either way");
ABSL_FLAG(bool, prefault, false,
          "commit every pool page before the timed build, so page faults are not timed");
ABSL_FLAG(std::string, capacity_search_limit, "20M",
          "largest N tried when measuring how many keys a pool serves without fallback");

namespace {

namespace fs = std::filesystem;
namespace pe = experiments::pool_exhaustion;
using experiments::FlagError;

constexpr const char* kUsage =
    "Reproduces the pool-exhaustion study: bazel run //experiments:pool_exhaustion [-- flags]";

// The first SIGINT asks the run to stop after the current cell (rows so far are kept and the run
// is marked incomplete); a second one kills the process the default way.
std::atomic<bool> stop_requested{false};
extern "C" void OnInterrupt(int) {
  stop_requested.store(true);
  std::signal(SIGINT, SIG_DFL);
}

std::vector<pe::Policy> ParsePolicies(const std::string& text) {
  std::vector<pe::Policy> policies;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const auto policy = pe::ParsePolicy(absl::StripAsciiWhitespace(name));
    if (!policy) {
      FlagError("policies", absl::StrCat("unknown policy '", name,
                                         "' (expected bump_pool, slot_recycler or malloc)"));
    }
    policies.push_back(*policy);
  }
  if (policies.empty()) FlagError("policies", "no policy given");
  return policies;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

fs::path ReferencePath(const char* argv0) {
  if (const std::string flag = absl::GetFlag(FLAGS_reference); !flag.empty()) return flag;
  const fs::path relative = "experiments/reference/pool_exhaustion_reference.csv";
  // `bazel run` starts us in the runfiles tree; a direct run finds it beside the binary.
  for (const fs::path& candidate :
       {relative, fs::path(std::string(argv0) + ".runfiles/hamt_alloc") / relative,
        experiments::WorkspaceDirectory() / relative}) {
    if (fs::exists(candidate)) return candidate;
  }
  return relative;
}

// A cell that would not fit in this machine's memory is refused up front rather than swapping or
// being killed: ~64 bytes per entry (map and malloc overhead) plus the pool pages a bump touches
// (at most ~40 slots per entry).
void CheckFitsInMemory(const pe::Cell& cell) {
  const double physical = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                          static_cast<double>(::sysconf(_SC_PAGESIZE));
  double bytes = 64.0 * static_cast<double>(cell.n);
  if (pe::HasPool(cell.policy)) {
    bytes += 8.0 * std::min(static_cast<double>(cell.pool_slots), 40.0 * static_cast<double>(cell.n));
  }
  if (bytes > 0.8 * physical) {
    FlagError("n", absl::StrFormat("N=%d with a pool of %d slots needs about %.1f GiB; this "
                                   "machine has %.1f GiB",
                                   cell.n, cell.pool_slots, bytes / (1 << 30), physical / (1 << 30)));
  }
}

struct Outputs {
  fs::path csv, json;
};

void WriteResults(const Outputs& outputs, const std::vector<pe::Row>& rows,
                  const pe::Analysis* analysis, nlohmann::ordered_json metadata, bool complete) {
  std::string csv = experiments::CsvLine(pe::CsvHeader());
  for (const pe::Row& row : rows) csv += experiments::CsvLine(pe::CsvRow(row));
  metadata["complete"] = complete;
  experiments::WriteFileAtomically(outputs.csv, csv);
  experiments::WriteFileAtomically(outputs.json, pe::ToJson(rows, analysis, metadata).dump(2) + "\n");
}

int Run(int argc, char** argv) {
  // One name for every per-malloc build of this binary.
  experiments::ParseFlagsOrExit(argc, argv, kUsage, "pool_exhaustion");
  allocators::CheckProcessMallocOrDie();
  const bool sweep = absl::GetFlag(FLAGS_sweep);

  std::string n_text = absl::GetFlag(FLAGS_n);
  std::string pools_text = absl::GetFlag(FLAGS_pools);
  if (sweep) {
    if (!experiments::FlagWasSpecified("n")) {
      n_text = "1K,3K,10K,30K,100K,300K,1M,10M";
    }
    if (!experiments::FlagWasSpecified("pools")) {
      pools_text.clear();
      for (std::uint64_t slots = 16'384; slots <= 16'777'216; slots *= 2) {
        absl::StrAppend(&pools_text, pools_text.empty() ? "" : ",", slots);
      }
    }
  }
  const std::vector<std::uint64_t> ns = experiments::ParseCountList("n", n_text, 1, 1'000'000'000);
  // 2^44 slots = 128 TiB, all of a process's address space.
  const std::vector<std::uint64_t> pools =
      experiments::ParseCountList("pools", pools_text, 0, std::uint64_t{1} << 44);
  const std::vector<pe::Policy> policies = ParsePolicies(absl::GetFlag(FLAGS_policies));
  int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (sweep && !experiments::FlagWasSpecified("repetitions")) repetitions = 1;
  if (repetitions < 1 || repetitions > 1000) FlagError("repetitions", "must be in [1, 1000]");
  int jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs < 0 || jobs > 256) FlagError("jobs", "must be in [0, 256]");
  if (jobs == 0) jobs = sweep ? std::max(1u, std::thread::hardware_concurrency()) : 1;
  const bool prefault = absl::GetFlag(FLAGS_prefault);
  const double headroom = absl::GetFlag(FLAGS_headroom);
  if (!(headroom >= 0 && headroom <= 1000)) FlagError("headroom", "must be in [0, 1000] percent");
  const std::uint64_t search_limit = experiments::ParseCountList(
      "capacity_search_limit", absl::GetFlag(FLAGS_capacity_search_limit), 1, 200'000'000)[0];
  const bool quiet = absl::GetFlag(FLAGS_quiet);

  std::vector<pe::Cell> cells;
  for (std::uint64_t n : ns) {
    for (pe::Policy policy : policies) {
      if (!pe::HasPool(policy)) {
        cells.push_back({policy, n, 0});
        continue;
      }
      for (std::uint64_t pool : pools) cells.push_back({policy, n, pool});
    }
  }
  for (const pe::Cell& cell : cells) CheckFitsInMemory(cell);
  // A pool this machine cannot reserve is a bad flag, found before anything is measured.
  for (std::uint64_t pool : pools) {
    try {
      allocators::BumpPool probe({.capacity_slots = pool, .quiet = true});
    } catch (const allocators::PoolReserveError& error) {
      FlagError("pools", error.what());
    }
  }

  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(absl::GetFlag(FLAGS_out));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  const std::string stem = sweep ? "pool_exhaustion_sweep" : "pool_exhaustion";
  const Outputs outputs{out_dir / (stem + ".csv"), out_dir / (stem + ".json")};

  const fs::path reference_path = ReferencePath(argv[0]);
  std::vector<pe::ReferenceRow> reference;
  try {
    if (!fs::exists(reference_path)) throw std::runtime_error("file not found");
    reference = pe::ParseReference(ReadFile(reference_path));
  } catch (const std::exception& error) {
    FlagError("reference", absl::StrCat(reference_path.string(), ": ", error.what()));
  }

  // Rows already measured by an interrupted run with the same output are kept.
  std::vector<pe::Row> rows;
  if (absl::GetFlag(FLAGS_resume) && fs::exists(outputs.csv)) {
    try {
      for (pe::Row& row : pe::ParseCsv(ReadFile(outputs.csv))) {
        if (std::find(cells.begin(), cells.end(), row.cell) != cells.end()) rows.push_back(row);
      }
    } catch (const std::exception& error) {
      experiments::Fail(absl::StrCat(outputs.csv.string(), " ", error.what(), " (cannot resume)"),
                        experiments::kUsageErrorExit);
    }
  }
  auto measured = [&rows](const pe::Cell& cell) {
    for (const pe::Row& row : rows) {
      if (row.cell == cell) return true;
    }
    return false;
  };

  nlohmann::ordered_json metadata = experiments::CollectRunMetadata(argc, argv);
  metadata["experiment"] = "pool_exhaustion";
  metadata["schema_version"] = pe::kSchemaVersion;
  metadata["mode"] = sweep ? "sweep" : "default";
  metadata["repetitions"] = repetitions;
  metadata["headroom_pct"] = headroom;
  metadata["prefault"] = prefault;
  metadata["jobs"] = jobs;

  const std::string process_malloc = allocators::DetectProcessMalloc().Describe();
  if (!quiet) {
    std::cerr << absl::StrFormat(
        "pool_exhaustion: %d cells (%d already measured), %d repetitions, %d at a time, process "
        "malloc: %s\n",
        cells.size(), rows.size(), repetitions, jobs, process_malloc);
  }
  std::signal(SIGINT, OnInterrupt);

  const auto run_start = std::chrono::steady_clock::now();
  // Cells go to `jobs` worker threads; results, the files and progress lines are serialized here.
  std::vector<const pe::Cell*> pending;
  for (const pe::Cell& cell : cells) {
    if (!measured(cell)) pending.push_back(&cell);
  }
  std::mutex mutex;
  std::size_t next = 0, done = rows.size();
  std::exception_ptr failure;
  auto worker = [&] {
    for (;;) {
      const pe::Cell* cell;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (next == pending.size() || stop_requested.load() || failure) return;
        cell = pending[next++];
      }
      const auto start = std::chrono::steady_clock::now();
      try {
        pe::Row row = pe::MeasureCell(*cell, repetitions, prefault);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::lock_guard<std::mutex> lock(mutex);
        rows.push_back(std::move(row));
        ++done;
        WriteResults(outputs, rows, nullptr, metadata, /*complete=*/false);
        if (!quiet) {
          const pe::Row& r = rows.back();
          std::cerr << absl::StrFormat(
              "[%d/%d] %-13s n=%-10d pool=%-10d insert %7.1f ns/op  query %6.1f ns/op  fallback "
              "%5.1f%%  (%.1fs, %d left)\n",
              done, cells.size(), pe::PolicyName(cell->policy), cell->n, cell->pool_slots,
              pe::Median(r.insert_ns), pe::Median(r.query_ns), allocators::FallbackPct(r.stats),
              seconds, cells.size() - done);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < jobs; ++i) workers.emplace_back(worker);
  worker();
  for (std::thread& t : workers) t.join();
  if (failure) {
    // Rows measured so far are already on disk; the run stays marked incomplete.
    std::rethrow_exception(failure);
  }
  // Present cells in the planned order, whatever order they were measured (or resumed) in.
  std::vector<pe::Row> ordered;
  for (const pe::Cell& cell : cells) {
    for (const pe::Row& row : rows) {
      if (row.cell == cell) ordered.push_back(row);
    }
  }
  rows = std::move(ordered);

  if (stop_requested.load()) {
    WriteResults(outputs, rows, nullptr, metadata, /*complete=*/false);
    std::cerr << absl::StrFormat(
        "pool_exhaustion: interrupted; %d of %d cells kept in %s (rerun with --resume to finish)\n",
        rows.size(), cells.size(), outputs.csv.string());
    return 130;
  }

  if (!quiet) std::cerr << "pool_exhaustion: measuring pool capacities and allocation cost...\n";
  pe::AnalysisOptions options;
  options.headroom_pct = headroom;
  options.repetitions = repetitions;
  options.capacity_search_limit = search_limit;
  options.prefault = prefault;
  const pe::Analysis analysis = pe::Analyze(rows, reference, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  metadata["duration_seconds"] = seconds;
  WriteResults(outputs, rows, &analysis, metadata, /*complete=*/true);

  std::cout << absl::StrFormat("Pool-exhaustion study, %s (%s); process malloc: %s\n\n",
                               sweep ? "sweep" : "default run",
                               metadata["git_commit"].get<std::string>(), process_malloc);
  std::cout << pe::FormatTable(rows, reference);
  std::cout << pe::FormatFindings(analysis);
  std::cout << absl::StrFormat("\nWrote %s and %s (%.1f s).\n", outputs.csv.string(),
                               outputs.json.string(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const allocators::PoolReserveError& error) {
    experiments::Fail(error.what(), experiments::kUsageErrorExit);
  } catch (const experiments::OutputError& error) {
    experiments::Fail(error.what(), 1);
  } catch (const std::bad_alloc&) {
    experiments::Fail("out of memory (an allocation failed); rows measured so far are kept", 1);
  } catch (const std::exception& error) {
    experiments::Fail(absl::StrCat("error: ", error.what()), 1);
  }
}
