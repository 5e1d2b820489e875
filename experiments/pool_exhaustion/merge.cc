// bazel run //experiments:merge -- --out=DIR SHARD_DIR...
// (a SHARD_DIR may be a sharded Bazel test's test.outputs/outputs.zip)
//
// Merges the shards of one sharded pool-exhaustion run (--shard=I/N, shards.h) into one result
// set, published in --out like a run's: the same files, the findings and sizing its records can
// decide. Refuses (one line naming the directory and the shard, cell or setting; exit status 2)
// shards of different commits or settings, a duplicate or missing shard or cell, an incomplete
// shard. Says when the shards ran on more than one host class.
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <stdlib.h>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "experiments/common/child_process.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/output.h"
#include "experiments/common/records.h"
#include "experiments/common/run_store.h"
#include "experiments/pool_exhaustion/conclude.h"
#include "experiments/pool_exhaustion/console.h"
#include "experiments/pool_exhaustion/plan.h"
#include "experiments/pool_exhaustion/predict.h"
#include "experiments/pool_exhaustion/records.h"
#include "experiments/pool_exhaustion/shards.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, out, "", "directory for the merged result (required)");
ABSL_FLAG(std::string, reference, "",
          "directory of the reference study's figures (default: experiments/reference)");
ABSL_FLAG(bool, quiet, false, "print only the one-line summary");

namespace {

namespace fs = std::filesystem;
namespace pe = experiments::pool_exhaustion;
using experiments::Fail;
using experiments::FlagError;
using M = experiments::schema::RunMetadata::Field;

constexpr const char* kProgram = "merge";
constexpr const char* kUsage =
    "Merges the shards of a sharded pool-exhaustion run: bazel run //experiments:merge -- "
    "--out=DIR SHARD_DIR...";

// A Bazel test's undeclared outputs (test.outputs/outputs.zip, e.g. sweep_shard_test's) unpacked
// into a fresh temporary directory `root`: the directory in it that holds a published result, or
// an error.
std::string Unzip(const std::string& zip, std::string& root, std::string& error) {
  std::string pattern = (fs::temp_directory_path() / "hamt-merge-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = absl::StrCat(zip, ": cannot make a temporary directory");
    return "";
  }
  root = pattern;
  const experiments::ChildExit exit =
      experiments::RunProgramInChild("/usr/bin/python3", {"-m", "zipfile", "-e", zip, pattern});
  if (exit.status != 0) {
    error = absl::StrCat(zip, ": cannot unpack it (python3 -m zipfile: ",
                         experiments::DescribeStatus(exit.status), ")");
    return "";
  }
  for (const auto& entry : fs::recursive_directory_iterator(pattern)) {
    const std::string name = entry.path().filename().string();
    if (name == absl::StrCat(pe::kSweepStem, ".json") ||
        name == absl::StrCat(pe::kDefaultStem, ".json")) {
      return entry.path().parent_path().string();
    }
  }
  error = absl::StrCat(zip, ": holds no pool-exhaustion result");
  return "";
}

// The published result in `dir`; an error when there is none, when the directory holds both
// modes' results (a reused --out), or when a newer run of the shard was interrupted (the published
// one is then stale).
std::string ReadPublished(const std::string& given, const fs::path& dir, pe::Results& out) {
  std::vector<std::string> stems;
  for (const char* stem : {pe::kSweepStem, pe::kDefaultStem}) {
    if (fs::exists(dir / (std::string(stem) + ".json")) ||
        fs::exists(dir / (std::string(stem) + ".runs"))) {
      stems.emplace_back(stem);
    }
  }
  if (stems.size() > 1) {
    return absl::StrCat(given, ": holds both a default and a --sweep run: one mode per shard "
                        "directory");
  }
  if (stems.empty()) {
    return absl::StrCat(given, ": no pool-exhaustion run (pool_exhaustion[_sweep].json)");
  }
  const std::string& stem = stems.front();
  // The newest run, by id (UTC time first), against the published one.
  std::string newest, published;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / (stem + ".runs"), ec)) {
    newest = std::max(newest, entry.path().filename().string());
  }
  if (const fs::path target = fs::read_symlink(dir / (stem + ".current"), ec); !ec) {
    published = target.filename().string();
  }
  if (published.empty()) {
    return absl::StrCat(given, ": the shard has not finished", newest.empty() ? "" : " (run ",
                        newest, newest.empty() ? "" : " was interrupted: rerun it with the same "
                                                      "flags and --resume)");
  }
  if (newest > published) {
    return absl::StrCat(given, ": run ", newest, " is newer than the published ", published,
                        " and did not finish: finish it with the same flags and --resume, or "
                        "remove it");
  }
  const fs::path json = dir / (stem + ".json");
  try {
    out = pe::ResultsFromJson(nlohmann::ordered_json::parse(experiments::ReadWholeFile(json)));
  } catch (const std::exception& error) {
    return absl::StrCat(json.string(), ": ", error.what());
  }
  return "";
}

// A shard's --out directory or a test's outputs.zip; relative to where `bazel run` was started.
pe::Results ReadShard(std::string given) {
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && fs::path(given).is_relative()) {
    given = (fs::path(cwd) / given).string();
  }
  pe::Results results;
  std::string root, error;
  if (absl::EndsWith(given, ".zip")) {
    const std::string dir = Unzip(given, root, error);
    if (error.empty()) error = ReadPublished(given, dir, results);
  } else {
    error = ReadPublished(given, given, results);
  }
  // An unpacked zip was read into memory: its temporary directory goes, whatever happened.
  if (!root.empty()) {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  if (!error.empty()) Fail(error, experiments::kUsageErrorExit);
  return results;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> dirs =
      experiments::ParseFlagsAndArgumentsOrExit(argc, argv, kUsage, 100000, kProgram);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) FlagError("out", "required: the directory for the merged result");
  if (dirs.empty()) Fail("no shard directories given", experiments::kUsageErrorExit);
  std::vector<std::pair<std::string, pe::Results>> shards;
  for (const std::string& dir : dirs) shards.emplace_back(dir, ReadShard(dir));

  std::vector<std::string> notes;
  pe::Results merged;
  pe::Config config;
  try {
    merged = pe::MergeShards(shards, notes);
    config = pe::ConfigFromJson(merged.metadata.Object(M::kConfig));
  } catch (const std::exception& error) {
    Fail(error.what(), experiments::kUsageErrorExit);
  }
  pe::Reference reference;
  try {
    const std::string flag = absl::GetFlag(FLAGS_reference);
    reference = pe::ReadReference(flag.empty() ? pe::DefaultReferenceDirectory(argv[0])
                                                : fs::path(flag));
  } catch (const std::exception& error) {
    FlagError("reference", error.what());
  }
  const pe::Predictor predictor;
  pe::Conclude(merged, config, predictor, reference);

  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(out);
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  const std::string stem = pe::StemFor(config.mode);
  auto note = [](const std::string& line) { std::cerr << kProgram << ": " << line << "\n"; };
  experiments::RunStore store = [&] {
    try {
      return experiments::RunStore::Open(out_dir, stem, /*wait=*/false, note);
    } catch (const experiments::OutputError& error) {
      FlagError("out", error.what());
    }
  }();
  const std::string run_id = experiments::RunStore::NewRunId();
  merged.metadata.Set(M::kRunId, run_id);
  store.StartNew(run_id, note);
  store.Write(stem + ".json", pe::ToJson(merged).dump(2) + "\n");
  store.Write(stem + ".csv", experiments::CsvDocument(merged.rows));
  store.Publish();

  if (!absl::GetFlag(FLAGS_quiet)) {
    const int width = experiments::ConsoleWidth();
    std::cout << pe::FormatTable(merged.rows, reference.cells);
    std::cout << pe::FormatFindings(merged.findings, width);
    std::cout << pe::FormatSizing(merged, width);
  }
  for (const std::string& line : notes) note(line);
  std::cout << absl::StrFormat("merge: wrote %s and %s (run %s)\n",
                               (store.dir() / (stem + ".csv")).string(),
                               (store.dir() / (stem + ".json")).string(), run_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
