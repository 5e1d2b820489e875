// bazel run //experiments:pool_exhaustion [-- --sweep | --n=... --pools=... | --resume | --help]
//
// Reproduces the reference pool-exhaustion study on this workbench's HAMT: fills the map with keys
// 0..N-1 (value i*10) over a bump pool, a slot recycler and plain malloc, queries every key, and
// prints our telemetry next to the study's, the six findings, and how big a pool must be.
//
// The run: phase 1 measures the grid; phase 2 the cells that follow from it (plan.h); then the
// findings and sizing are judged from the records (findings.h, sizing.h), and the result set is
// published (experiments/common/run_store.h). Files: experiments/RESULTS_SCHEMA.md.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "allocators/bump_pool.h"
#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "allocators/slot_pool.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/pool_exhaustion/conclude.h"
#include "experiments/pool_exhaustion/console.h"
#include "experiments/pool_exhaustion/finding4_map.h"
#include "experiments/pool_exhaustion/findings.h"
#include "experiments/pool_exhaustion/measure.h"
#include "experiments/pool_exhaustion/plan.h"
#include "experiments/pool_exhaustion/predict.h"
#include "experiments/pool_exhaustion/records.h"
#include "experiments/pool_exhaustion/shards.h"
#include "experiments/pool_exhaustion/sizing.h"

ABSL_FLAG(std::string, n, "1000,10000,50000,100000",
          "map sizes N, comma-separated (K and M suffixes allowed: 1K, 10M)");
ABSL_FLAG(std::string, pools, "65536,4194304", "pool capacities in 8-byte slots, comma-separated");
ABSL_FLAG(std::string, policies, "bump_pool,slot_recycler,malloc",
          "policies to run: bump_pool, slot_recycler, malloc (no pool: the baseline)");
ABSL_FLAG(std::string, fallback, "malloc",
          "what serves a pool's fallbacks: malloc (the process's), mimalloc, jemalloc, tcmalloc or "
          "another allocators/registry.h policy that serves any thread");
ABSL_FLAG(int, seeds, 5,
          "hash seeds per pool cell: seed 0 is timed, the others measured once for counts, so that "
          "counts are compared with the demand model as a mean over tries");
ABSL_FLAG(int, repetitions, 5, "timed repetitions per cell; times are medians (sweep default: 1)");
ABSL_FLAG(double, headroom, 20.0, "headroom in percent for the recommended pool sizes");
ABSL_FLAG(std::string, out, "results/pool_exhaustion",
          "output directory (relative paths are under the workspace); see RESULTS_SCHEMA.md");
ABSL_FLAG(bool, sweep, false,
          "sweep pools of 16,384..16,777,216 slots (powers of two) against N from 1K to 10M");
ABSL_FLAG(bool, quiet, false, "no progress lines on stderr");
ABSL_FLAG(bool, resume, false,
          "continue the interrupted run in --out (same flags required): measure only what is "
          "missing");
ABSL_FLAG(bool, wait_for_lock, false,
          "when another run is using --out, wait for it instead of failing at once");
ABSL_FLAG(std::string, reference, "",
          "directory of the reference study's figures (default: experiments/reference)");
ABSL_FLAG(int, jobs, 0,
          "cells measured at once (0: 1, or every core for --sweep). Parallel cells share memory "
          "bandwidth: use 1 for timing-grade numbers; counts are the same either way");
ABSL_FLAG(bool, prefault, false,
          "commit every pool page before the timed build, so page faults are not timed");
ABSL_FLAG(bool, huge_pages, false,
          "the pools ask for transparent huge pages (madvise over a 2 MiB-aligned pool); the "
          "anon_huge_kb column shows whether the kernel granted them");
ABSL_FLAG(std::string, finding4_fallbacks, "malloc,mimalloc,jemalloc,tcmalloc",
          "finding 4's pairs (an exhausted and a sized pool at one N) are re-measured with each of "
          "these fallbacks (names as for --fallback; the run's own --fallback and pages are "
          "always among them)");
ABSL_FLAG(std::string, finding4_pages, "lazy,prefault,huge",
          "... and each of these page policies: lazy, prefault (every pool page committed first), "
          "huge (transparent huge pages), huge_prefault");
ABSL_FLAG(std::string, capacity_search_limit, "auto",
          "largest N tried when measuring how many keys a pool serves without fallback (auto: 20 x "
          "the largest --n, at least 1M, at most 20M)");

namespace {

namespace fs = std::filesystem;
namespace pe = experiments::pool_exhaustion;
using experiments::FlagError;
using experiments::FormatCount;

constexpr const char* kProgram = "pool_exhaustion";
constexpr const char* kUsage =
    "Reproduces the pool-exhaustion study: bazel run //experiments:pool_exhaustion [-- flags]";

using experiments::Note;

std::vector<pe::Policy> ParsePolicies(const std::string& text) {
  return experiments::ParseNameList("policies", text, std::span<const pe::Policy>(pe::kAllPolicies),
                                    pe::PolicyName, "policy");
}

// Removes repeated values (keeping the first), with a note.
std::vector<std::uint64_t> Distinct(const char* flag, std::vector<std::uint64_t> values) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t v : values) {
    if (std::find(out.begin(), out.end(), v) != out.end()) {
      Note(absl::StrCat("--", flag, ": ", v, " given twice; measured once"));
      continue;
    }
    out.push_back(v);
  }
  return out;
}

fs::path ReferenceDirectory(const char* argv0) {
  if (const std::string flag = absl::GetFlag(FLAGS_reference); !flag.empty()) return flag;
  return pe::DefaultReferenceDirectory(argv0);
}

// The fallbacks named by `flag` (a comma-separated list of allocators/registry.h names), each once.
std::vector<std::string> ParseFallbacks(const char* flag, const std::string& text) {
  std::vector<absl::string_view> known;
  for (std::string_view name : allocators::FallbackNames()) {
    known.emplace_back(name.data(), name.size());
  }
  std::vector<std::string> names;
  for (std::size_t i : experiments::ParseNameList(flag, text, known, "fallback")) {
    names.emplace_back(known[i]);
  }
  return names;
}

pe::Config ConfigFromFlags() {
  const bool sweep = absl::GetFlag(FLAGS_sweep);
  std::string n_text = absl::GetFlag(FLAGS_n);
  std::string pools_text = absl::GetFlag(FLAGS_pools);
  if (sweep && !experiments::FlagWasSpecified("n")) n_text = "1K,3K,10K,30K,100K,300K,1M,10M";
  if (sweep && !experiments::FlagWasSpecified("pools")) {
    pools_text.clear();
    for (std::uint64_t slots = 16'384; slots <= 16'777'216; slots *= 2) {
      absl::StrAppend(&pools_text, pools_text.empty() ? "" : ",", slots);
    }
  }
  pe::Config config;
  config.mode = sweep ? "sweep" : "default";
  if (const std::optional<experiments::Shard> shard = experiments::ShardFlag()) {
    config.shard = experiments::ShardName(*shard);
  }
  config.ns = Distinct("n", experiments::ParseCountList("n", n_text, 1, 1'000'000'000));
  // 2^44 slots = 128 TiB, all of a process's address space.
  config.pools = Distinct("pools", experiments::ParseCountList("pools", pools_text, 0,
                                                               std::uint64_t{1} << 44));
  config.policies = ParsePolicies(absl::GetFlag(FLAGS_policies));
  config.fallback = absl::GetFlag(FLAGS_fallback);
  if (ParseFallbacks("fallback", config.fallback).size() != 1) {
    FlagError("fallback", "expected one fallback");
  }
  if (const std::string text = absl::GetFlag(FLAGS_finding4_fallbacks); !text.empty()) {
    config.finding4_fallbacks = ParseFallbacks("finding4_fallbacks", text);
  }
  if (const std::string pages = absl::GetFlag(FLAGS_finding4_pages); !pages.empty()) {
    config.finding4_pages = experiments::ParseNameList(
        "finding4_pages", pages, std::span<const pe::Pages>(pe::kAllPages), pe::PagesName,
        "page policy");
  }
  config.seeds = absl::GetFlag(FLAGS_seeds);
  if (config.seeds < 1 || config.seeds > 100) FlagError("seeds", "must be in [1, 100]");
  config.repetitions = absl::GetFlag(FLAGS_repetitions);
  if (sweep && !experiments::FlagWasSpecified("repetitions")) config.repetitions = 1;
  if (config.repetitions < 1 || config.repetitions > 1000) {
    FlagError("repetitions", "must be in [1, 1000]");
  }
  config.jobs = absl::GetFlag(FLAGS_jobs);
  if (config.jobs < 0 || config.jobs > 256) FlagError("jobs", "must be in [0, 256]");
  if (config.jobs == 0) config.jobs = sweep ? std::max(1u, std::thread::hardware_concurrency()) : 1;
  config.pages = pe::Pages{absl::GetFlag(FLAGS_prefault), absl::GetFlag(FLAGS_huge_pages)};
  config.headroom_pct = absl::GetFlag(FLAGS_headroom);
  if (!(config.headroom_pct >= 0 && config.headroom_pct <= 1000)) {
    FlagError("headroom", "must be a number in [0, 1000] percent");
  }
  if (const std::string limit = absl::GetFlag(FLAGS_capacity_search_limit); limit == "auto") {
    // Enough for finding 6 (a recycler serves ~6x the keys of a bump pool of the same size) without
    // searching to 20M keys for every huge pool of a small run.
    const std::uint64_t largest = *std::max_element(config.ns.begin(), config.ns.end());
    config.capacity_search_limit =
        std::clamp<std::uint64_t>(20 * largest, 1'000'000, 20'000'000);
  } else {
    const std::vector<std::uint64_t> values =
        experiments::ParseCountList("capacity_search_limit", limit, 1, 200'000'000);
    if (values.size() != 1) FlagError("capacity_search_limit", "expected one number or auto");
    config.capacity_search_limit = values[0];
  }
  config.process_malloc = allocators::DetectProcessMalloc().Describe();
  config.binary = experiments::BinaryFingerprint();
  return config;
}

struct Files {
  std::string csv, json;
};

class Run {
 public:
  Run(experiments::RunStore store, Files files, pe::Results results, pe::Config config,
      pe::Reference reference, bool quiet)
      : store_(std::move(store)),
        files_(std::move(files)),
        results_(std::move(results)),
        config_(std::move(config)),
        reference_(std::move(reference)),
        quiet_(quiet),
        prior_seconds_(results_.metadata.Float(experiments::schema::RunMetadata::Field::kDurationSeconds)) {}

  // Returns the exit status.
  int Execute();

 private:
  void Persist(bool complete);
  void Progress(const std::string& line) const {
    if (!quiet_) std::cerr << line << "\n";
  }
  void MeasureGrid();
  void MeasurePhase2();
  bool Has(const pe::Cell& cell, absl::string_view role) const;
  void Add(pe::CellRecord record);

  experiments::RunStore store_;
  Files files_;
  pe::Results results_;
  pe::Predictor predictor_;
  std::optional<pe::ShardWork> work_;  // a shard's part of the plan (--shard); unset: all of it
  pe::Config config_;
  pe::Reference reference_;
  bool quiet_;
  double prior_seconds_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
};

void Run::Persist(bool complete) {
  using M = experiments::schema::RunMetadata::Field;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  results_.metadata.Set(M::kComplete, complete).Set(M::kDurationSeconds, prior_seconds_ + seconds);
  // JSON first: it is the state --resume continues; the CSV is derived from it.
  store_.Write(files_.json, pe::ToJson(results_).dump(2) + "\n");
  store_.Write(files_.csv, experiments::CsvDocument(results_.rows));
}

bool Run::Has(const pe::Cell& cell, absl::string_view role) const {
  for (const pe::CellRecord& r : results_.rows) {
    if (r.Str(pe::CellField::kRole) == role && pe::CellOf(r) == cell) return true;
  }
  return false;
}

void Run::Add(pe::CellRecord record) {
  results_.rows.push_back(std::move(record));
  Persist(false);
}

void Run::MeasureGrid() {
  const std::vector<pe::Cell> cells = work_ ? work_->cells : pe::GridCells(config_);
  std::vector<const pe::Cell*> pending;
  for (const pe::Cell& cell : cells) {
    if (!Has(cell, pe::kGrid)) pending.push_back(&cell);
  }
  std::size_t next = 0, done = cells.size() - pending.size();
  std::exception_ptr failure;
  auto worker = [&] {
    for (;;) {
      const pe::Cell* cell;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (next == pending.size() || failure || experiments::InterruptRequested()) return;
        cell = pending[next++];
      }
      const auto start = std::chrono::steady_clock::now();
      try {
        const int repetitions = pe::RepetitionsFor(*cell, config_.repetitions);
        const pe::Measurement m = pe::MeasureCell(*cell, repetitions);
        const pe::Prediction prediction =
            predictor_.For(cell->policy, cell->n, cell->pool_slots);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::lock_guard<std::mutex> lock(mutex_);
        Add(pe::MakeCellRecord(m, pe::kGrid, repetitions, prediction));
        ++done;
        Progress(absl::StrFormat(
            "[%d/%d] %-13s n=%-10d pool=%-10d seed %d  insert %7.1f ns/op  query %6.1f ns/op  "
            "fallback %5.1f%%  (%.1fs, %d left)",
            done, cells.size(), pe::PolicyName(cell->policy), cell->n, cell->pool_slots, cell->seed,
            pe::Median(m.insert_ns), pe::Median(m.query_ns), allocators::FallbackPct(m.stats),
            seconds, cells.size() - done));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!failure) failure = std::current_exception();
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < config_.jobs; ++i) workers.emplace_back(worker);
  worker();
  for (std::thread& t : workers) t.join();
  if (failure) std::rethrow_exception(failure);
  experiments::ThrowIfInterrupted();
  // Present cells in the planned order, whatever order they were measured (or resumed) in.
  std::vector<pe::CellRecord> ordered;
  for (const pe::Cell& cell : cells) {
    for (const pe::CellRecord& r : results_.rows) {
      if (r.Str(pe::CellField::kRole) == pe::kGrid && pe::CellOf(r) == cell) ordered.push_back(r);
    }
  }
  for (const pe::CellRecord& r : results_.rows) {
    if (r.Str(pe::CellField::kRole) != pe::kGrid) ordered.push_back(r);
  }
  results_.rows = std::move(ordered);
}

void Run::MeasurePhase2() {
  // Everything here follows from the grid's records (plan.h); each result is persisted as soon as
  // it is measured, so --resume skips it.
  // A shard does only its capacity searches: the other items need the whole grid (shards.h).
  std::vector<std::pair<pe::Cell, absl::string_view>> cells;
  std::vector<pe::CellPair> pairs;
  std::optional<std::size_t> block;
  if (!work_) {
    if (auto cell = pe::VerificationCell(results_.rows, config_.headroom_pct, predictor_)) {
      cells.emplace_back(*cell, pe::kVerification);
    }
    pairs = pe::Finding4MapCells(results_.rows, config_.finding4_fallbacks, config_.finding4_pages);
    block = pe::CostBlockBytes(results_.rows);
  }
  const std::vector<pe::CapacitySearch> searches =
      work_ ? work_->searches : pe::CapacitySearches(config_);
  Progress(absl::StrFormat(
      "%s: phase 2: %d cell(s) for finding 3's verification, %d pairs for finding 4 by fallback "
      "and page policy, %d capacity searches, %s",
      kProgram, cells.size(), pairs.size(), searches.size(),
      block ? absl::StrFormat("allocation cost of %d-byte blocks", *block) : "no allocation cost"));
  for (const auto& [cell, role] : cells) {
    if (Has(cell, role)) continue;
    const pe::Measurement m = pe::MeasureCell(cell, config_.repetitions);
    Add(pe::MakeCellRecord(m, role, config_.repetitions,
                           predictor_.For(cell.policy, cell.n, cell.pool_slots)));
    Progress(absl::StrFormat("  %s: %s n=%d pool=%d: fallback %.1f%%, insert %.1f ns/op", role,
                             pe::PolicyName(cell.policy), cell.n, cell.pool_slots,
                             allocators::FallbackPct(m.stats), pe::Median(m.insert_ns)));
  }
  // Both cells of a pair or neither: they are measured interleaved and persisted together (a
  // lone half, which only a damaged file could hold, is measured again with its partner).
  const int repetitions = pe::Finding4Repetitions(config_.repetitions);
  std::size_t done = 0;
  for (const pe::CellPair& pair : pairs) {
    done += Has(pair.exhausted, pe::kFinding4Map) && Has(pair.sized, pe::kFinding4Map);
  }
  for (const pe::CellPair& pair : pairs) {
    if (Has(pair.exhausted, pe::kFinding4Map) && Has(pair.sized, pe::kFinding4Map)) continue;
    std::erase_if(results_.rows, [&](const pe::CellRecord& r) {
      return r.Str(pe::CellField::kRole) == pe::kFinding4Map &&
             (pe::CellOf(r) == pair.exhausted || pe::CellOf(r) == pair.sized);
    });
    const std::vector<pe::Measurement> m =
        pe::MeasureInterleaved({pair.exhausted, pair.sized}, repetitions);
    for (const pe::Measurement& one : m) {
      results_.rows.push_back(pe::MakeCellRecord(
          one, pe::kFinding4Map, repetitions,
          predictor_.For(one.cell.policy, one.cell.n, one.cell.pool_slots)));
    }
    Persist(false);
    Progress(absl::StrFormat(
        "  [%d/%d] finding 4: n=%d, %s fallback, %s pages: insert %.1f vs %.1f ns/op", ++done,
        pairs.size(), pair.exhausted.n, pair.exhausted.fallback,
        pe::PagesName(pair.exhausted.pages), pe::Median(m[0].insert_ns),
        pe::Median(m[1].insert_ns)));
  }
  using P = experiments::schema::PoolCapacity::Field;
  for (const pe::CapacitySearch& search : searches) {
    bool have = false;
    for (const pe::CapacityRecord& c : results_.capacities) {
      have |= c.Str(P::kPolicy) == pe::PolicyName(search.policy) &&
              c.Count(P::kPoolSlots) == search.pool_slots;
    }
    if (have) continue;
    const std::uint64_t largest =
        pe::LargestNWithoutFallback(search.policy, search.pool_slots, config_.capacity_search_limit,
                                    config_.fallback);
    results_.capacities.push_back(pe::MakeCapacityRecord(search.policy, search.pool_slots, largest,
                                                         config_.capacity_search_limit,
                                                         config_.fallback));
    Persist(false);
    Progress(absl::StrFormat("  capacity: %s pool=%d serves %s%s keys", pe::PolicyName(search.policy),
                             search.pool_slots, largest >= config_.capacity_search_limit ? ">= " : "",
                             FormatCount(static_cast<double>(largest))));
  }
  if (block && results_.allocation_costs.empty()) {
    std::vector<pe::CostRecord> costs;
    for (pe::CostPattern pattern : {pe::CostPattern::kBatch, pe::CostPattern::kGrow}) {
      for (pe::ServedBy by : {pe::ServedBy::kBump, pe::ServedBy::kFallback}) {
        const std::vector<double> ns = pe::MeasureAllocationCost(
            pattern, by, *block, pe::kCostAllocations, config_.repetitions, config_.fallback);
        costs.push_back(
            pe::MakeCostRecord(pattern, by, *block, pe::kCostAllocations, ns, config_.fallback));
      }
    }
    results_.allocation_costs = std::move(costs);
    Persist(false);
  }
}

int Run::Execute() {
  using M = experiments::schema::RunMetadata::Field;
  if (!config_.shard.empty()) {
    work_ = pe::WorkOf(config_, *experiments::ParseShard(config_.shard), predictor_);
    Progress(absl::StrFormat("%s: shard %s: %d grid cells, %d capacity searches", kProgram,
                             config_.shard, work_->cells.size(), work_->searches.size()));
  }
  try {
    MeasureGrid();
    MeasurePhase2();
  } catch (const experiments::Interrupted&) {
    Persist(false);
    std::cerr << absl::StrFormat(
        "%s: interrupted; %d measured cells kept in %s (rerun with the same flags and --resume to "
        "finish); the published results are unchanged\n",
        kProgram, results_.rows.size(), store_.run_dir().string());
    return 130;
  } catch (const experiments::OutputError&) {
    throw;
  } catch (...) {
    try {
      Persist(false);
    } catch (const std::exception&) {
    }
    std::cerr << absl::StrFormat("%s: the %d cells measured so far are kept in %s\n", kProgram,
                                 results_.rows.size(), store_.run_dir().string());
    throw;
  }
  if (!work_) pe::Conclude(results_, config_, predictor_, reference_);
  Persist(true);
  store_.Publish();
  if (work_) {
    std::cout << absl::StrFormat(
        "Pool-exhaustion study (%s): %d cells and %d capacity searches in %s (%.1f s).%s\n",
        results_.metadata.Str(M::kGitCommit), results_.rows.size(), results_.capacities.size(),
        store_.dir().string(), results_.metadata.Float(M::kDurationSeconds),
        experiments::MergeHint(experiments::ParseShard(config_.shard)));
    return 0;
  }

  const int width = experiments::ConsoleWidth();
  std::cout << absl::StrFormat("Pool-exhaustion study, %s run (%s); process malloc: %s\n\n",
                               config_.mode, results_.metadata.Str(M::kGitCommit),
                               config_.process_malloc);
  std::cout << pe::FormatTable(results_.rows, reference_.cells);
  std::cout << pe::FormatFinding4Map(results_.finding4_map);
  std::cout << pe::FormatFindings(results_.findings, width);
  std::cout << pe::FormatSizing(results_, width);
  std::cout << absl::StrFormat("\nWrote %s and %s (run %s, %.1f s).\n",
                               (store_.dir() / files_.csv).string(),
                               (store_.dir() / files_.json).string(),
                               results_.metadata.Str(M::kRunId),
                               results_.metadata.Float(M::kDurationSeconds));
  return 0;
}

// The interrupted run to continue, read and checked before anything is written. Exits with a
// usage error naming the problem (files untouched) when it cannot be continued.
pe::Results LoadForResume(const experiments::RunStore& store, const Files& files,
                          const pe::Config& config) {
  using M = experiments::schema::RunMetadata::Field;
  const std::optional<fs::path> dir = store.LatestIncomplete();
  if (!dir) {
    FlagError("resume", absl::StrCat("no interrupted ", files.json, " run in ", store.dir().string(),
                                     " (run without --resume to start one)"));
  }
  const fs::path json_path = *dir / files.json, csv_path = *dir / files.csv;
  if (!fs::exists(json_path)) {
    FlagError("resume", absl::StrCat("the interrupted run in ", dir->string(),
                                     " measured nothing (it stopped before its first cell); run "
                                     "without --resume"));
  }
  pe::Results results;
  try {
    const std::string text = experiments::ReadWholeFile(json_path);
    nlohmann::ordered_json json;
    try {
      json = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& error) {
      std::size_t line = 1;
      for (std::size_t i = 0; i < std::min<std::size_t>(error.byte, text.size()); ++i) {
        line += text[i] == '\n';
      }
      throw experiments::SchemaError(absl::StrCat("line ", line, ": invalid JSON (truncated?)"));
    }
    results = pe::ResultsFromJson(json);
  } catch (const std::exception& error) {
    FlagError("resume", absl::StrCat(json_path.string(), " ", error.what(),
                                     "; cannot continue (files left untouched)"));
  }
  if (const auto difference =
          experiments::ConfigDifference(results.metadata.Object(M::kConfig), config.ToJson())) {
    FlagError("resume", absl::StrCat("the interrupted run in ", dir->string(),
                                     " was measured with other settings (", *difference,
                                     "); rerun with its settings, or without --resume"));
  }
  if (fs::exists(csv_path)) {
    try {
      const auto rows =
          experiments::ParseCsvDocument<experiments::schema::PoolCell>(
              experiments::ReadWholeFile(csv_path));
      // The JSON is written first, so the CSV may lack the JSON's last row, never more.
      if (rows.size() > results.rows.size()) {
        throw experiments::SchemaError("has more rows than the JSON beside it");
      }
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (!(rows[i] == results.rows[i])) {
          throw experiments::SchemaError(
              absl::StrCat("line ", i + 2, ": differs from the JSON's rows[", i, "]"));
        }
      }
    } catch (const std::exception& error) {
      FlagError("resume", absl::StrCat(csv_path.string(), " ", error.what(),
                                       "; cannot continue (files left untouched)"));
    }
  }
  results.metadata.Set(M::kSessions, results.metadata.Int(M::kSessions) + 1)
      .Set(M::kComplete, false);
  results.findings.clear();
  return results;
}

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  allocators::CheckProcessMallocOrDie();
  // A privately loaded fallback (jemalloc) needs static TLS room: re-execute with it first, so
  // that nothing below (notes, checks) happens twice.
  for (const std::string& text :
       {absl::GetFlag(FLAGS_fallback), absl::GetFlag(FLAGS_finding4_fallbacks)}) {
    for (absl::string_view name : absl::StrSplit(text, ',')) {
      if (const allocators::PolicyInfo* info = allocators::FindPolicy(std::string(name));
          info != nullptr && info->needs_static_tls) {
        allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
      }
    }
  }
  pe::Config config = ConfigFromFlags();
  // A fallback whose library cannot be loaded is a bad flag, found before anything is measured;
  // finding 4's default list leaves it out instead, with a note.
  auto loads = [](const std::string& name) -> std::optional<std::string> {
    try {
      allocators::PolicyOptions options;
      options.pool = {.capacity_slots = 1, .quiet = true};
      options.fallback = name;
      allocators::WithPolicy("bump_pool", options, [](auto policy) {
        policy.deallocate(policy.allocate(64), 64);  // 8 slots: served by the fallback
      });
      return std::nullopt;
    } catch (const std::exception& error) {
      return error.what();
    }
  };
  if (const auto error = loads(config.fallback)) FlagError("fallback", *error);
  std::vector<std::string> loadable;
  for (const std::string& name : config.finding4_fallbacks) {
    if (const auto error = loads(name)) {
      if (experiments::FlagWasSpecified("finding4_fallbacks")) {
        FlagError("finding4_fallbacks", *error);
      }
      Note(absl::StrCat("finding 4's map leaves out ", name, ": ", *error));
      continue;
    }
    loadable.push_back(name);
  }
  config.finding4_fallbacks = std::move(loadable);
  const bool quiet = absl::GetFlag(FLAGS_quiet);
  // A shard checks, and announces, its own part of the plan.
  std::optional<pe::ShardWork> work;
  if (!config.shard.empty()) {
    work = pe::WorkOf(config, *experiments::ParseShard(config.shard), pe::Predictor());
  }
  try {
    if (work) {
      pe::CheckMemory(config, work->cells, work->searches, /*whole_run=*/false);
    } else {
      pe::CheckMemory(config);
    }
  } catch (const experiments::UsageError& error) {
    FlagError(error.flag(), error.what());
  }
  // A pool this machine cannot reserve is a bad flag, found before anything is measured.
  for (std::uint64_t pool : config.pools) {
    try {
      allocators::BumpPool probe({.capacity_slots = pool, .quiet = true});
    } catch (const allocators::PoolReserveError& error) {
      FlagError("pools", error.what());
    }
  }
  pe::Reference reference;
  try {
    reference = pe::ReadReference(ReferenceDirectory(argv[0]));
  } catch (const std::exception& error) {
    FlagError("reference", error.what());
  }

  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(absl::GetFlag(FLAGS_out));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  const std::string stem = pe::StemFor(config.mode);
  const Files files{stem + ".csv", stem + ".json"};
  std::optional<experiments::RunStore> store;
  try {
    store.emplace(experiments::RunStore::Open(out_dir, stem, absl::GetFlag(FLAGS_wait_for_lock),
                                              Note));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }

  pe::Results results;
  if (absl::GetFlag(FLAGS_resume)) {
    results = LoadForResume(*store, files, config);
    store->Continue(*store->LatestIncomplete());
  } else {
    const std::string run_id = experiments::RunStore::NewRunId();
    results.metadata =
        experiments::NewRunMetadata(kProgram, config.mode, run_id, argc, argv, config.ToJson());
    store->StartNew(run_id, Note);
  }
  if (!quiet) {
    const std::size_t cells = work ? work->cells.size() : pe::GridCells(config).size();
    std::size_t measured = 0;
    for (const pe::CellRecord& r : results.rows) measured += r.Str(pe::CellField::kRole) == pe::kGrid;
    std::cerr << absl::StrFormat(
        "%s: %s%d cells (%d already measured), %d repetitions, %d at a time, process malloc: %s; "
        "run %s\n",
        kProgram, work ? absl::StrCat("shard ", config.shard, ": ") : "", cells, measured, config.repetitions, config.jobs, config.process_malloc,
        store->run_dir().filename().string());
  }
  experiments::InstallInterruptHandler();
  Run run(std::move(*store), files, std::move(results), config, std::move(reference), quiet);
  return run.Execute();
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] {
    try {
      return Main(argc, argv);
    } catch (const allocators::PoolReserveError& error) {  // a pool too large: a bad flag
      experiments::Fail(error.what(), experiments::kUsageErrorExit);
    }
  });
}
