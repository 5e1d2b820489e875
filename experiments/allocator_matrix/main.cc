// bazel run //experiments:allocator_matrix [-- --quick | --large | --threads=4 | --filter=REGEX |
//                                           --mallocs=glibc,jemalloc | --repetitions=R | --out=DIR |
//                                           --cpus=1 | --warmup=S | --nointerleave]
//
// Precision: the repetitions of all benchmarks of a binary run in one random order (so drift over
// the run hits every contender alike, instead of the ones that happen to run last); each benchmark
// first runs untimed for --warmup seconds (Google Benchmark 1.7 does this once, before the
// benchmark's first repetition, not before each); --cpus pins the benchmark binaries (not this
// driver). The merged rows carry the median, a 95% confidence interval of it (from 6 repetitions
// on) and the coefficient of variation.
//
// Runs the allocator-matrix benchmark binary once per process malloc (matrix_glibc, _mimalloc,
// _jemalloc, _tcmalloc; found in runfiles), each writing Google Benchmark JSON with every
// repetition to <binary>.json, merges them into allocator_matrix.csv and writes the run's metadata
// and Google Benchmark's contexts (CPU scaling, library build type, process malloc) to
// context.json, all in this run's directory, published when every binary succeeded
// (experiments/common/run_store.h). Progress goes to stderr; Ctrl-C stops the running binary and
// keeps what finished. See experiments/RESULTS_SCHEMA.md.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "experiments/allocator_matrix/merge.h"
#include "experiments/common/child_process.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/common/shards.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(bool, quick, false,
          "smoke run: N in {1K, 10K}, 3 repetitions, short min_time (all four binaries in < 2 min)");
ABSL_FLAG(bool, large, false, "add N = 10M to the sizes (needs several GB of RAM)");
ABSL_FLAG(int, threads, 2, "largest thread count; runs 1, 2, 4, ... up to it (one map per thread)");
ABSL_FLAG(int, repetitions, 7,
          "repetitions per benchmark (--quick: 3 unless given); 6 or more give each row a 95% "
          "confidence interval of the median");
ABSL_FLAG(std::string, filter, "", "regex on benchmark names <workload>/<policy>/keys:<n>[/threads:<t>]");
ABSL_FLAG(std::string, mallocs, "glibc,mimalloc,jemalloc,tcmalloc",
          "process mallocs to run, a subset of glibc,mimalloc,jemalloc,tcmalloc");
ABSL_FLAG(double, min_time, 0, "Google Benchmark min_time per run in seconds (0: 0.1, --quick: 0.002)");
ABSL_FLAG(double, warmup, -1,
          "seconds each benchmark runs untimed before its repetitions (-1: 0.05, --quick: 0)");
ABSL_FLAG(bool, interleave, true,
          "run the repetitions of all benchmarks in one random order (Google Benchmark's random "
          "interleaving), so that machine drift hits every contender alike");
ABSL_FLAG(std::string, cpus, "",
          "pin the benchmark binaries to these CPUs (comma list, e.g. 1); empty: no pinning. "
          "Needs at least as many CPUs as --threads");
ABSL_FLAG(std::string, out, "results/allocator_matrix",
          "output directory (relative paths are under the workspace); see RESULTS_SCHEMA.md");
ABSL_FLAG(bool, wait_for_lock, false,
          "when another run is using --out, wait for it instead of failing at once");

namespace {

namespace fs = std::filesystem;
namespace am = experiments::allocator_matrix;
using experiments::FlagError;

constexpr const char* kUsage =
    "Every allocator policy against every workload, per process malloc: "
    "bazel run //experiments:allocator_matrix [-- flags]";
constexpr absl::string_view kAllMallocs[] = {"glibc", "mimalloc", "jemalloc", "tcmalloc"};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

fs::path FindBinary(const std::string& name, const char* argv0) {
  const fs::path rel = fs::path("hamt_alloc") / "experiments" / "allocator_matrix" / name;
  std::vector<fs::path> candidates;
  for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(env); dir != nullptr && *dir != '\0') {
      candidates.push_back(fs::path(dir) / rel);
    }
  }
  candidates.push_back(fs::path(std::string(argv0) + ".runfiles") / rel);
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(self.parent_path() / name);
  candidates.push_back(fs::path(argv0).parent_path() / name);
  for (const fs::path& c : candidates) {
    if (fs::exists(c, ec)) return c;
  }
  experiments::Fail(absl::StrCat("cannot find benchmark binary ", name,
                                 " (looked in runfiles and beside this binary)"),
                    1);
}

// Pins the calling process to `cpus` (called in the benchmark's child, before exec).
bool PinTo(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof(set), &set) == 0;
}

// Runs argv in a child (experiments/common/child_process.h: it dies with the driver, Ctrl-C is
// passed on); stdout goes to `stdout_path` (or is captured into *captured when non-null). Returns
// the exit status (128 + signal when killed, 127 when it could not start). `heartbeat` is called
// every 15 s while waiting. When captured_error != nullptr, the child's stderr goes to a temporary
// file whose first line is returned in *captured_error.
int RunChild(const std::vector<std::string>& args, const std::string& stdout_path,
             std::string* captured, const std::function<void(double)>& heartbeat,
             std::string* captured_error = nullptr, const std::vector<int>& cpus = {}) {
  char error_path[] = "/tmp/allocator_matrix_stderr.XXXXXX";
  const int error_fd = captured_error != nullptr ? ::mkstemp(error_path) : -1;
  experiments::ChildExit child;
  try {
    child = experiments::RunInChild(
        [&](int message_fd) -> std::string {
          // Only the benchmark is pinned: the driver, which polls its child, stays off its CPUs'
          // run queue as far as the scheduler allows.
          if (!cpus.empty() && !PinTo(cpus)) {
            std::perror("sched_setaffinity");
            ::_exit(127);
          }
          const int fd = captured != nullptr
                             ? message_fd
                             : ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
          if (fd >= 0) ::dup2(fd, STDOUT_FILENO);
          if (error_fd >= 0) ::dup2(error_fd, STDERR_FILENO);
          std::vector<char*> argv;
          for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
          argv.push_back(nullptr);
          ::execv(argv[0], argv.data());
          std::perror(("exec " + args[0]).c_str());
          ::_exit(127);
        },
        heartbeat);
  } catch (const std::runtime_error& error) {
    std::cerr << "allocator_matrix: " << error.what() << "\n";
    child.status = 127;
  }
  if (captured != nullptr) *captured = std::move(child.message);
  if (error_fd >= 0 && captured_error != nullptr) {  // (the one implies the other)
    char buffer[512] = {};
    const ssize_t got = ::pread(error_fd, buffer, sizeof buffer - 1, 0);
    const std::string text(buffer, got > 0 ? static_cast<std::size_t>(got) : 0);
    *captured_error = text.substr(0, text.find('\n'));
    ::close(error_fd);
    ::unlink(error_path);
  }
  return child.status;
}

// A rough cost model for the up-front estimate: each run takes about max(min_time, one iteration)
// plus its setup (a map build for the find/churn workloads); iteration ~150 ns per key per op.
double EstimateSeconds(const std::vector<std::string>& names, int repetitions, double min_time,
                       double warmup) {
  double total = 0;
  for (const std::string& name : names) {
    const std::vector<std::string> parts = absl::StrSplit(name, '/');
    double n = 1000;
    if (parts.size() >= 3 && parts[2].rfind("keys:", 0) == 0) n = std::atof(parts[2].c_str() + 5);
    const double iteration = n * 150e-9;
    // Google Benchmark grows the iteration count in a few trials until min_time is reached.
    total += repetitions * (std::max(min_time, iteration) * 2.0 + 3 * iteration + 0.001) +
             (warmup > 0 ? std::max(warmup, iteration) : 0);
  }
  return total;
}

// --cpus: distinct CPUs this process may run on (sched_getaffinity), in the order given.
std::vector<int> ParseCpus(const std::string& text) {
  std::vector<int> cpus;
  if (text.empty()) return cpus;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    FlagError("cpus", absl::StrCat("cannot read this process's CPU affinity: ", std::strerror(errno)));
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int cpu = -1;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &cpu) || cpu < 0 || cpu >= CPU_SETSIZE) {
      FlagError("cpus", absl::StrCat("not a CPU number: ", experiments::QuoteValue(std::string(part))));
    }
    if (!CPU_ISSET(cpu, &allowed)) {
      FlagError("cpus", absl::StrCat("CPU ", cpu, " is not available to this process (see nproc)"));
    }
    if (std::find(cpus.begin(), cpus.end(), cpu) != cpus.end()) {
      FlagError("cpus", absl::StrCat("CPU ", cpu, " given twice"));
    }
    cpus.push_back(cpu);
  }
  return cpus;
}

int Run(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, "allocator_matrix");
  const bool quick = absl::GetFlag(FLAGS_quick);
  const bool large = absl::GetFlag(FLAGS_large);
  if (quick && large) FlagError("large", "cannot be combined with --quick");
  const int max_threads = absl::GetFlag(FLAGS_threads);
  if (max_threads < 1 || max_threads > 256) FlagError("threads", "must be in [1, 256]");
  int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (quick && !experiments::FlagWasSpecified("repetitions")) repetitions = 3;
  if (repetitions < 1 || repetitions > 1000) FlagError("repetitions", "must be in [1, 1000]");
  double min_time = absl::GetFlag(FLAGS_min_time);
  if (!std::isfinite(min_time) || min_time < 0 || min_time > 100) {
    FlagError("min_time", "must be a number of seconds in [0, 100]");
  }
  if (min_time == 0) min_time = quick ? 0.002 : 0.1;
  double warmup = absl::GetFlag(FLAGS_warmup);
  if (warmup == -1) warmup = quick ? 0 : 0.05;
  if (!std::isfinite(warmup) || warmup < 0 || warmup > 100) {
    FlagError("warmup", "must be a number of seconds in [0, 100] (or -1, the default)");
  }
  const bool interleave = absl::GetFlag(FLAGS_interleave);
  const std::vector<int> cpus = ParseCpus(absl::GetFlag(FLAGS_cpus));
  if (!cpus.empty() && static_cast<int>(cpus.size()) < max_threads) {
    FlagError("cpus", absl::StrCat(cpus.size(), " CPU(s) for up to ", max_threads,
                                   " threads: give at least --threads CPUs, or lower --threads"));
  }
  const std::string filter = absl::GetFlag(FLAGS_filter);
  try {
    std::regex check(filter, std::regex::extended);
  } catch (const std::regex_error& error) {
    FlagError("filter", absl::StrCat("bad regex ", experiments::QuoteValue(filter), ": ",
                                     error.what()));
  }
  std::vector<std::string> mallocs;
  for (std::size_t i : experiments::ParseNameList("mallocs", absl::GetFlag(FLAGS_mallocs),
                                                  kAllMallocs, "process malloc")) {
    mallocs.emplace_back(kAllMallocs[i]);
  }
  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(absl::GetFlag(FLAGS_out));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }

  std::vector<std::string> sizes = {"1000", "10000"};
  if (!quick) {
    sizes.push_back("100000");
    sizes.push_back("1000000");
  }
  if (large) sizes.push_back("10000000");
  std::vector<int> threads;
  for (int t = 1; t <= max_threads; t *= 2) threads.push_back(t);
  if (threads.back() != max_threads) threads.push_back(max_threads);

  experiments::InstallInterruptHandler();

  struct Job {
    std::string malloc, binary;
    fs::path path;
    std::vector<std::string> benchmarks;  // what this run measures
    std::vector<std::string> planned;     // the whole grid's (a shard measures part of it)
    std::string fingerprint;              // the binary's (BinaryFingerprint): what measured
    double estimate = 0;
  };
  std::vector<Job> jobs;
  const std::vector<std::string> common_args = {
      absl::StrCat("--matrix_sizes=", absl::StrJoin(sizes, ",")),
      absl::StrCat("--matrix_threads=", absl::StrJoin(threads, ",")),
  };
  for (const std::string& m : mallocs) {
    Job job{m, "matrix_" + m, FindBinary("matrix_" + m, argv[0]), {}, {}, "", 0};
    std::vector<std::string> args = {job.path.string()};
    args.insert(args.end(), common_args.begin(), common_args.end());
    args.push_back("--benchmark_list_tests=true");
    if (!filter.empty()) args.push_back("--benchmark_filter=" + filter);
    std::string listing, listing_error;
    const int status = RunChild(args, "", &listing, nullptr, &listing_error);
    if (experiments::InterruptRequested()) return 130;
    if (status != 0) {
      experiments::Fail(absl::StrCat(job.binary, " failed to list its benchmarks (",
                                     experiments::DescribeStatus(status),
                                     "): ", experiments::QuoteValue(listing_error)),
                        1);
    }
    for (absl::string_view line : absl::StrSplit(listing, '\n', absl::SkipWhitespace())) {
      job.benchmarks.emplace_back(line);
    }
    job.planned = job.benchmarks;
    job.fingerprint = experiments::BinaryFingerprint(job.path);
    jobs.push_back(std::move(job));
  }
  std::size_t planned_benchmarks = 0;
  for (const Job& job : jobs) planned_benchmarks += job.planned.size();
  if (planned_benchmarks == 0) {
    FlagError("filter", absl::StrCat(experiments::QuoteValue(filter), " matches no benchmark"));
  }
  // A shard keeps its part of every binary's benchmarks (experiments/common/shards.h), balanced by
  // their estimated time. The item is a comparison: every policy of one (binary, workload, N,
  // threads), so that they run in one process (absl::Hash's seed, and with it the trie's shape,
  // differs from process to process: counters of two processes differ by a percent or so).
  const std::optional<experiments::Shard> shard = experiments::ShardFlag();
  if (shard) {
    std::vector<std::pair<std::size_t, std::vector<std::string>>> items;  // (job, its benchmarks)
    std::vector<std::uint64_t> costs;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      std::map<std::string, std::size_t> group;  // "<workload>/keys:<n>/threads:<t>" -> item
      for (const std::string& name : jobs[j].benchmarks) {
        std::vector<std::string> parts = absl::StrSplit(name, '/');
        if (parts.size() > 1) parts.erase(parts.begin() + 1);  // the policy
        const auto [it, added] = group.emplace(absl::StrJoin(parts, "/"), items.size());
        if (added) {
          items.push_back({j, {}});
          costs.push_back(0);
        }
        items[it->second].second.push_back(name);
        costs[it->second] += static_cast<std::uint64_t>(
            std::llround(1e6 * EstimateSeconds({name}, repetitions, min_time, warmup)));
      }
      jobs[j].benchmarks.clear();
    }
    for (std::size_t item : experiments::ItemsOf(shard, costs)) {
      std::vector<std::string>& mine = jobs[items[item].first].benchmarks;
      mine.insert(mine.end(), items[item].second.begin(), items[item].second.end());
    }
    // In the listing's order.
    for (Job& job : jobs) {
      const std::set<std::string> chosen(job.benchmarks.begin(), job.benchmarks.end());
      job.benchmarks.clear();
      for (const std::string& name : job.planned) {
        if (chosen.count(name)) job.benchmarks.push_back(name);
      }
    }
  }
  for (Job& job : jobs) job.estimate = EstimateSeconds(job.benchmarks, repetitions, min_time, warmup);
  double total_estimate = 0;
  std::size_t total_benchmarks = 0;
  for (const Job& job : jobs) {
    total_estimate += job.estimate;
    total_benchmarks += job.benchmarks.size();
  }
  std::cerr << absl::StrFormat(
      "allocator_matrix: %s%d binaries, %d benchmarks x %d repetitions, N in {%s}, threads {%s}, "
      "min_time %gs, warm-up %gs, %s, %s; expected duration ~%.0f s (rough; the machine's load "
      "decides)\n",
      shard ? absl::StrCat("shard ", experiments::ShardName(*shard), ": ") : "", jobs.size(),
      total_benchmarks, repetitions, absl::StrJoin(sizes, ","),
      absl::StrJoin(threads, ","), min_time, warmup,
      interleave ? "repetitions interleaved" : "repetitions in a row",
      cpus.empty() ? "not pinned" : absl::StrCat("pinned to CPU(s) ", absl::StrJoin(cpus, ",")),
      total_estimate);

  std::optional<experiments::RunStore> store;
  try {
    store.emplace(experiments::RunStore::Open(
        out_dir, am::kStem, absl::GetFlag(FLAGS_wait_for_lock),
        [](const std::string& note) { std::cerr << "allocator_matrix: note: " << note << "\n"; }));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  const std::string run_id = experiments::RunStore::NewRunId();
  const nlohmann::ordered_json config = {
      {"mode", quick ? "quick" : large ? "large" : "default"},
      {"sizes", absl::StrJoin(sizes, ",")},
      {"threads", absl::StrJoin(threads, ",")},
      {"repetitions", repetitions},
      {"min_time", min_time},
      {"warmup", warmup},
      {"interleave", interleave},
      {"cpus", absl::StrJoin(cpus, ",")},
      {"filter", filter},
      {"mallocs", absl::StrJoin(mallocs, ",")},
      {"shard", shard ? experiments::ShardName(*shard) : ""}};
  auto metadata = experiments::NewRunMetadata("allocator_matrix", config["mode"], run_id, argc,
                                              argv, config);
  store->StartNew(run_id, [](const std::string&) {});

  const auto run_start = std::chrono::steady_clock::now();
  std::vector<std::string> failures;
  nlohmann::ordered_json binaries = nlohmann::ordered_json::object();
  std::vector<am::MatrixRecord> rows;
  using M = experiments::schema::RunMetadata::Field;
  // Both files of the run so far; context.json first, the CSV is derived from the binaries' JSON.
  auto persist = [&](bool complete) {
    metadata.Set(M::kComplete, complete).Set(M::kDurationSeconds, Seconds(run_start));
    nlohmann::ordered_json context;
    context["metadata"] = metadata.Json();
    context["binaries"] = binaries;
    store->Write("context.json", context.dump(2) + "\n");
    store->Write("allocator_matrix.csv", experiments::CsvDocument(rows));
  };
  double estimate_left = total_estimate;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    estimate_left -= job.estimate;
    if (job.benchmarks.empty()) {  // a shard with none of this binary's benchmarks
      binaries[job.binary] = {{"skipped", "none of its benchmarks is in this shard"},
                              {"planned", job.planned}, {"binary", job.fingerprint}};
      persist(false);
      continue;
    }
    std::cerr << absl::StrFormat("[%d/%d] %s: %d benchmarks x %d repetitions, ~%.0f s%s\n", i + 1,
                                 jobs.size(), job.binary, job.benchmarks.size(), repetitions,
                                 job.estimate,
                                 i + 1 == jobs.size()
                                     ? ""
                                     : absl::StrFormat(" (then ~%.0f s for the %d others)",
                                                       estimate_left, jobs.size() - i - 1));
    const std::string json_name = job.binary + ".json";
    const fs::path tmp_path = store->run_dir() / absl::StrCat(json_name, ".tmp.", ::getpid());
    std::vector<std::string> args = {job.path.string()};
    args.insert(args.end(), common_args.begin(), common_args.end());
    for (const std::string& a :
         {std::string("--benchmark_format=json"), "--benchmark_out=" + tmp_path.string(),
          std::string("--benchmark_out_format=json"),
          absl::StrCat("--benchmark_repetitions=", repetitions),
          std::string("--benchmark_report_aggregates_only=false"),
          absl::StrCat("--benchmark_min_time=", min_time),
          absl::StrCat("--benchmark_min_warmup_time=", warmup),
          absl::StrCat("--benchmark_enable_random_interleaving=", interleave ? "true" : "false")}) {
      args.push_back(a);
    }
    if (shard) {
      // The shard's benchmarks by name, in a file: a regex of them could outgrow one argument.
      const fs::path names = store->run_dir() / (job.binary + ".names");
      store->Write(names.filename().string(), absl::StrCat(absl::StrJoin(job.benchmarks, "\n"), "\n"));
      args.push_back("--matrix_names_file=" + names.string());
    } else if (!filter.empty()) {
      args.push_back("--benchmark_filter=" + filter);
    }
    const auto start = std::chrono::steady_clock::now();
    const int status = RunChild(
        args, "/dev/null", nullptr,
        [&job](double elapsed) {
          std::cerr << absl::StrFormat("      %s still running: %.0f s (estimate %.0f s)\n",
                                       job.binary, elapsed, job.estimate);
        },
        nullptr, cpus);
    const double seconds = Seconds(start);
    if (experiments::InterruptRequested()) {
      std::error_code ec;
      fs::remove(tmp_path, ec);
      persist(false);
      std::cerr << absl::StrFormat(
          "allocator_matrix: interrupted during %s; the %d finished binaries are kept in %s; the "
          "published results are unchanged\n",
          job.binary, i, store->run_dir().string());
      return 130;
    }
    if (status != 0) {
      const std::string why = experiments::DescribeStatus(status);
      std::cerr << absl::StrFormat("[%d/%d] %s FAILED (%s) after %.1f s\n", i + 1, jobs.size(),
                                   job.binary, why, seconds);
      failures.push_back(absl::StrCat(job.binary, " (", why, ")"));
      binaries[job.binary] = {{"failure", why}, {"duration_seconds", seconds},
                              {"planned", job.planned}, {"binary", job.fingerprint}};
      std::error_code ec;
      fs::remove(tmp_path, ec);
      persist(false);
      continue;
    }
    try {
      fs::rename(tmp_path, store->run_dir() / json_name);
      const nlohmann::json doc = nlohmann::json::parse(
          am::SanitizeBenchmarkJson(experiments::ReadWholeFile(store->run_dir() / json_name)));
      std::vector<am::MatrixRecord> these = am::RecordsFromBenchmarkJson(doc, job.malloc);
      nlohmann::ordered_json summary = am::ContextSummary(doc);
      summary["duration_seconds"] = seconds;
      summary["benchmarks"] = these.size();
      summary["planned"] = job.planned;  // the whole grid's: what a merge of shards checks
      summary["binary"] = job.fingerprint;
      binaries[job.binary] = summary;
      if (summary.value("cpu_scaling_enabled", false)) {
        std::cerr << "      warning: CPU frequency scaling is enabled: real-time numbers are noisy\n";
      }
      if (summary.value("library_build_type", "") == "debug") {
        std::cerr << "      warning: Google Benchmark library was built as DEBUG (as it reports)\n";
      }
      std::size_t errors = 0;
      for (const am::MatrixRecord& r : these) {
        errors += r.Str(experiments::schema::MatrixRow::Field::kError).empty() ? 0 : 1;
      }
      std::cerr << absl::StrFormat("[%d/%d] %s done in %.1f s: %d rows%s\n", i + 1, jobs.size(),
                                   job.binary, seconds, these.size(),
                                   errors == 0 ? "" : absl::StrCat(", ", errors, " with errors"));
      rows.insert(rows.end(), these.begin(), these.end());
    } catch (const experiments::OutputError&) {
      throw;
    } catch (const std::exception& error) {
      failures.push_back(absl::StrCat(job.binary, ": ", error.what()));
      std::cerr << absl::StrFormat("[%d/%d] %s: cannot merge %s: %s\n", i + 1, jobs.size(),
                                   job.binary, json_name, error.what());
    }
    persist(false);
  }

  const double total_seconds = Seconds(run_start);
  if (!failures.empty()) {
    persist(false);
    std::cerr << "allocator_matrix: FAILED: " << absl::StrJoin(failures, "; ") << "; the results "
              << "are kept in " << store->run_dir().string()
              << " and not published (the published results are unchanged)\n";
    return 1;
  }
  persist(true);
  store->Publish();

  // Winner per (process malloc, workload, n) at one thread, over hamt policies and baselines.
  using R = experiments::schema::MatrixRow::Field;
  std::map<std::string, std::pair<std::string, double>> best;
  std::vector<std::string> order;
  for (const am::MatrixRecord& r : rows) {
    if (r.Int(R::kThreads) != 1 || r.IsNull(R::kNsPerOp)) continue;
    const std::string key = absl::StrFormat("%-9s %-16s n=%-8d", r.Str(R::kProcessMalloc),
                                            r.Str(R::kWorkload), r.Int(R::kN));
    const double median = r.Float(R::kNsPerOp);
    auto it = best.find(key);
    if (it == best.end()) {
      order.push_back(key);
      best[key] = {r.Str(R::kPolicy), median};
    } else if (median < it->second.second) {
      it->second = {r.Str(R::kPolicy), median};
    }
  }
  if (!order.empty()) std::cout << "Fastest at 1 thread (median ns/op):\n";
  for (const std::string& key : order) {
    std::cout << absl::StrFormat("  %s %-26s %9.1f\n", key, best[key].first, best[key].second);
  }
  std::cout << absl::StrFormat("Wrote %s (%d rows), %s and the per-binary JSON in %s (%.1f s).%s\n",
                               (out_dir / "allocator_matrix.csv").string(), rows.size(),
                               (out_dir / "context.json").string(), out_dir.string(),
                               total_seconds, experiments::MergeHint(shard));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Run(argc, argv); });
}
