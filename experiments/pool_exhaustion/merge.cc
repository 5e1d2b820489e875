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
// into a fresh temporary directory `root`: the directory in it that holds a published result.
std::string Unzip(const std::string& zip, std::string& root) {
  std::string pattern = (fs::temp_directory_path() / "hamt-merge-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    Fail(absl::StrCat(zip, ": cannot make a temporary directory"), 1);
  }
  root = pattern;
  const experiments::ChildExit exit =
      experiments::RunProgramInChild("/usr/bin/python3", {"-m", "zipfile", "-e", zip, pattern});
  if (exit.status != 0) {
    Fail(absl::StrCat(zip, ": cannot unpack it (python3 -m zipfile: ",
                      experiments::DescribeStatus(exit.status), ")"),
         experiments::kUsageErrorExit);
  }
  for (const auto& entry : fs::recursive_directory_iterator(pattern)) {
    const std::string name = entry.path().filename().string();
    if (name == "pool_exhaustion_sweep.json" || name == "pool_exhaustion.json") {
      return entry.path().parent_path().string();
    }
  }
  Fail(absl::StrCat(zip, ": holds no pool-exhaustion result"), experiments::kUsageErrorExit);
}

// The published result in `dir` (a shard's --out, or a test's outputs.zip), whichever mode it ran.
pe::Results ReadShard(const std::string& given) {
  // An unpacked zip's files are read into memory: its temporary directory goes when this returns.
  struct Cleanup {
    std::string root;
    ~Cleanup() {
      std::error_code ignored;
      if (!root.empty()) fs::remove_all(root, ignored);
    }
  } cleanup;
  const std::string dir = absl::EndsWith(given, ".zip") ? Unzip(given, cleanup.root) : given;
  for (const char* stem : {"pool_exhaustion_sweep", "pool_exhaustion"}) {
    const fs::path json = fs::path(dir) / (std::string(stem) + ".json");
    if (!fs::exists(json)) continue;
    try {
      return pe::ResultsFromJson(
          nlohmann::ordered_json::parse(experiments::ReadWholeFile(json)));
    } catch (const std::exception& error) {
      Fail(absl::StrCat(json.string(), ": ", error.what()), experiments::kUsageErrorExit);
    }
  }
  Fail(absl::StrCat(given, ": no published pool-exhaustion result (pool_exhaustion[_sweep].json)"),
       experiments::kUsageErrorExit);
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
  const std::string stem = config.mode == "sweep" ? "pool_exhaustion_sweep" : "pool_exhaustion";
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
