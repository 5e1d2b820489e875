// bazel run //experiments:merge -- --out=DIR SHARD_DIR...
// (a SHARD_DIR may be a sharded Bazel test's test.outputs/outputs.zip)
//
// Merges the shards of one sharded run (--shard=I/N, experiments/common/shards.h) of
// pool_exhaustion, memory_timeline, persistent_churn or allocator_matrix into one result set,
// published in --out like a run's: the same files (pool_exhaustion: with the findings and sizing
// its records can decide). The experiment is the one whose result the shard directories hold.
// Refuses (one line naming the directory and the shard, cell or setting; exit status 2) shards of
// different experiments, commits, binaries, process mallocs or settings, a duplicate or missing
// shard or cell, an incomplete shard, an --out that is a shard's directory. Says when the shards
// ran on more than one host class.
#include <algorithm>
#include <filesystem>
#include <map>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <stdlib.h>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "experiments/common/child_process.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/output.h"
#include "experiments/common/records.h"
#include "experiments/common/run_store.h"
#include "experiments/allocator_matrix/merge.h"
#include "experiments/allocator_matrix/shards.h"
#include "experiments/common/cell_results.h"
#include "experiments/memory_timeline/timeline.h"
#include "experiments/persistent_churn/churn.h"
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
namespace mt = experiments::memory_timeline;
namespace pc = experiments::persistent_churn;
namespace am = experiments::allocator_matrix;
using experiments::Fail;
using experiments::FlagError;
using M = experiments::schema::RunMetadata::Field;

constexpr const char* kProgram = "merge";
constexpr const char* kUsage =
    "Merges the shards of a sharded run (pool_exhaustion, memory_timeline, persistent_churn, "
    "allocator_matrix): "
    "bazel run //experiments:merge -- --out=DIR SHARD_DIR...";

// The result sets a shard directory may hold: their run stores' stems (run_store.h), and the JSON
// file that names the set among a test's unpacked outputs.
struct ResultSet {
  const char* stem;
  std::string json;
};
const ResultSet kResultSets[] = {
    {pe::kSweepStem, std::string(pe::kSweepStem) + ".json"},
    {pe::kDefaultStem, std::string(pe::kDefaultStem) + ".json"},
    {mt::kFiles.stem, mt::kFiles.json},
    {pc::kFiles.stem, pc::kFiles.json},
    {am::kStem, "context.json"}};

// One shard as given, its result set's stem and the published run's JSON files (name -> text),
// read into memory.
struct ShardFiles {
  std::string given, stem;
  fs::path dir;  // as read (a zip's unpacked directory is gone)
  std::map<std::string, std::string> json;
};

void Note(const std::string& line) { std::cerr << kProgram << ": " << line << "\n"; }

// The JSON files of the directory `dir` into `out` ("" or an error).
std::string ReadJsonFiles(const fs::path& dir, ShardFiles& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json" || !entry.is_regular_file()) continue;
    try {
      out.json[entry.path().filename().string()] = experiments::ReadWholeFile(entry.path());
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  return ec ? absl::StrCat(dir.string(), ": ", ec.message()) : "";
}

// The stem of the one result set `dir` holds; "" and `error` when it holds none or several (a
// reused --out).
std::string StemIn(const std::string& given, const fs::path& dir, std::string& error) {
  std::vector<std::string> stems;
  for (const ResultSet& set : kResultSets) {
    if (fs::exists(dir / (std::string(set.stem) + ".current")) ||
        fs::exists(dir / (std::string(set.stem) + ".runs"))) {
      stems.emplace_back(set.stem);
    }
  }
  if (stems.size() > 1) {
    error = absl::StrCat(given, ": holds the results of ", absl::StrJoin(stems, " and "),
                         ": one run per shard directory");
  } else if (stems.empty()) {
    std::vector<std::string> all;
    for (const ResultSet& set : kResultSets) all.emplace_back(set.stem);
    error = absl::StrCat(given, ": no result of a run that shards (", absl::StrJoin(all, ", "),
                         ")");
  }
  return stems.empty() || stems.size() > 1 ? "" : stems.front();
}

// The published run in `dir` read into `out`; an error when there is none, or when a newer run of
// the shard was interrupted (the published one is then stale).
std::string ReadPublished(const std::string& given, const fs::path& dir, ShardFiles& out) {
  std::string error;
  out.stem = StemIn(given, dir, error);
  if (!error.empty()) return error;
  const std::string& stem = out.stem;
  // The newest run, by id (UTC time first), against the published one.
  std::string newest, published;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / (stem + ".runs"), ec)) {
    newest = std::max(newest, entry.path().filename().string());
  }
  const fs::path current = dir / (stem + ".current");
  if (const fs::path target = fs::read_symlink(current, ec); !ec) {
    published = target.filename().string();
  }
  if (published.empty()) {
    return absl::StrCat(given, ": the shard has not finished", newest.empty() ? "" : " (run ",
                        newest, newest.empty() ? "" : " was interrupted: run the shard again)");
  }
  if (newest > published) {
    return absl::StrCat(given, ": run ", newest, " is newer than the published ", published,
                        " and did not finish: finish it (pool_exhaustion: the same flags and "
                        "--resume) or remove it");
  }
  // Resolved once: every file from the one published run.
  const fs::path run = fs::canonical(current, ec);
  if (ec) return absl::StrCat(current.string(), ": ", ec.message());
  return ReadJsonFiles(run, out);
}

// A Bazel test's undeclared outputs (test.outputs/outputs.zip, e.g. sweep_shard_test's: the
// result's files, copied from the shard's --out) unpacked into the fresh temporary directory
// `root` and read: the shallowest directory holding a result set's JSON file is the shard's.
std::string ReadZip(const std::string& given, const std::string& zip, std::string& root,
                    ShardFiles& out) {
  std::error_code ec;
  if (fs::is_directory(zip, ec)) return absl::StrCat(given, ": a directory, not a zip file");
  if (!fs::is_regular_file(zip, ec)) return absl::StrCat(given, ": no such file");
  std::string pattern = (fs::temp_directory_path() / "hamt-merge-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::StrCat(given, ": cannot make a temporary directory");
  }
  root = pattern;
  // Python's zipfile (Debian's python3 is a dependency of the workbench anyway); its complaint,
  // not a traceback, is the error.
  const experiments::ChildExit exit = experiments::RunProgramInChild(
      "/usr/bin/python3",
      {"-c",
       "import sys, zipfile\n"
       "try:\n"
       "    z = zipfile.ZipFile(sys.argv[1])\n"
       "    if any(i.external_attr >> 16 & 0o170000 == 0o120000 for i in z.infolist()):\n"
       "        print('it stores symbolic links (zip -y): zip the files they point to')\n"
       "        sys.exit(1)\n"
       "    z.extractall(sys.argv[2])\n"
       "except Exception as e:\n"
       "    print(e); sys.exit(1)\n",
       zip, pattern});
  if (exit.status != 0) {
    return absl::StrCat(given, ": cannot unpack it (",
                        exit.message.empty() ? experiments::DescribeStatus(exit.status)
                                             : std::string(absl::StripTrailingAsciiWhitespace(
                                                   exit.message)),
                        ")");
  }
  std::vector<std::pair<int, fs::path>> found;  // (depth, directory)
  for (auto it = fs::recursive_directory_iterator(pattern, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    for (const ResultSet& set : kResultSets) {
      if (it->path().filename() == set.json && it->is_regular_file()) {
        found.emplace_back(it.depth(), it->path().parent_path());
      }
    }
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) return absl::StrCat(given, ": holds no result of a run that shards");
  if (found.size() > 1 && found[0].first == found[1].first) {
    return absl::StrCat(given, ": holds several results (",
                        found[0].second.lexically_relative(pattern).string(), " and ",
                        found[1].second.lexically_relative(pattern).string(), ")");
  }
  // The stem of the shallowest one.
  const fs::path dir = found[0].second;
  std::string key_json;
  for (const ResultSet& set : kResultSets) {
    if (fs::exists(dir / set.json)) out.stem = set.stem, key_json = set.json;
  }
  if (std::string error = ReadJsonFiles(dir, out); !error.empty()) return error;
  // A zipped run store (<stem>.runs/ beside the files): a newer run that did not finish makes the
  // zipped result stale, as for a directory (ReadPublished).
  std::string newest;
  for (const auto& entry : fs::directory_iterator(dir / (out.stem + ".runs"), ec)) {
    newest = std::max(newest, entry.path().filename().string());
  }
  if (!newest.empty()) {
    std::string run_id;
    try {
      run_id = nlohmann::json::parse(out.json[key_json]).at("metadata").at("run_id");
    } catch (const std::exception&) {
      return absl::StrCat(given, "/", key_json, ": no metadata.run_id");
    }
    if (newest > run_id) {
      return absl::StrCat(given, ": run ", newest, " is newer than the zipped result's ", run_id,
                          " and did not finish: finish it, or remove it");
    }
  }
  return "";
}

// A shard's --out directory or a test's outputs.zip; relative to where `bazel run` was started.
ShardFiles ReadShard(std::string given) {
  const std::string as_given = given;
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && fs::path(given).is_relative()) {
    given = (fs::path(cwd) / given).string();
  }
  ShardFiles shard;
  shard.given = as_given;
  shard.dir = given;
  std::string root, error;
  if (absl::EndsWith(given, ".zip")) {
    error = ReadZip(as_given, given, root, shard);
  } else {
    error = ReadPublished(as_given, given, shard);
  }
  // An unpacked zip was read into memory: its temporary directory goes, whatever happened.
  if (!root.empty()) {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  if (!error.empty()) Fail(error, experiments::kUsageErrorExit);
  return shard;
}

// The JSON file `name` of a shard, parsed by `parse`; a damaged file is a usage error naming it.
template <class Parse>
auto ParseShardFile(const ShardFiles& shard, const std::string& name, Parse parse) {
  const auto it = shard.json.find(name);
  if (it == shard.json.end()) {
    Fail(absl::StrCat(shard.given, ": the published run has no ", name),
         experiments::kUsageErrorExit);
  }
  try {
    return parse(nlohmann::ordered_json::parse(it->second));
  } catch (const std::exception& error) {
    Fail(absl::StrCat(shard.given, "/", name, ": ", error.what()), experiments::kUsageErrorExit);
  }
}

experiments::RunStore OpenOut(const fs::path& out_dir, const std::string& stem) {
  try {
    return experiments::RunStore::Open(out_dir, stem, /*wait=*/false, Note);
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
}

int MergePool(const std::vector<ShardFiles>& files, const fs::path& out_dir, const char* argv0) {
  std::vector<std::pair<std::string, pe::Results>> shards;
  const std::string stem = files.front().stem;
  for (const ShardFiles& f : files) {
    shards.emplace_back(f.given, ParseShardFile(f, stem + ".json", [](const auto& json) {
                          return pe::ResultsFromJson(json);
                        }));
  }
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
    reference = pe::ReadReference(flag.empty() ? pe::DefaultReferenceDirectory(argv0)
                                                : fs::path(flag));
  } catch (const std::exception& error) {
    FlagError("reference", error.what());
  }
  const pe::Predictor predictor;
  pe::Conclude(merged, config, predictor, reference);

  experiments::RunStore store = OpenOut(out_dir, stem);
  const std::string run_id = experiments::RunStore::NewRunId();
  merged.metadata.Set(M::kRunId, run_id);
  store.StartNew(run_id, Note);
  store.Write(stem + ".json", pe::ToJson(merged).dump(2) + "\n");
  store.Write(stem + ".csv", experiments::CsvDocument(merged.rows));
  store.Publish();

  if (!absl::GetFlag(FLAGS_quiet)) {
    const int width = experiments::ConsoleWidth();
    std::cout << pe::FormatTable(merged.rows, reference.cells);
    std::cout << pe::FormatFindings(merged.findings, width);
    std::cout << pe::FormatSizing(merged, width);
  }
  for (const std::string& line : notes) Note(line);
  std::cout << absl::StrFormat("merge: wrote %s and %s (run %s)\n",
                               (store.dir() / (stem + ".csv")).string(),
                               (store.dir() / (stem + ".json")).string(), run_id);
  return 0;
}

// A cell experiment's cell names (each experiment's CellName), for MergeCells.
std::string CellNameOf(const mt::CellSpec& x) { return mt::CellName(x); }
std::string CellNameOf(const mt::CellRecord& x) { return mt::CellName(x); }
std::string CellNameOf(const mt::SampleRecord& x) { return mt::CellName(x); }
std::string CellNameOf(const pc::CellSpec& x) { return pc::CellName(x); }
std::string CellNameOf(const pc::CellRecord& x) { return pc::CellName(x); }
std::string CellNameOf(const pc::SampleRecord& x) { return pc::CellName(x); }

// memory_timeline and persistent_churn: the shards' cells and samples, in the plan's order.
template <class Results, class SettingsFromJson, class Plan, class Format>
int MergeCells(const std::vector<ShardFiles>& files, const fs::path& out_dir,
               const experiments::CellFiles& names, SettingsFromJson settings_from_json,
               Plan plan, Format format) {
  using CellS = typename decltype(Results{}.cells)::value_type::Schema;
  using SampleS = typename decltype(Results{}.samples)::value_type::Schema;
  std::vector<std::pair<std::string, Results>> shards;
  for (const ShardFiles& f : files) {
    shards.emplace_back(f.given, ParseShardFile(f, names.json, [](const auto& json) {
                          return experiments::CellRunFromJson<CellS, SampleS>(json);
                        }));
  }
  std::vector<std::string> notes;
  Results merged;
  try {
    std::vector<std::string> planned;
    const auto settings = [&] {
      try {
        return settings_from_json(shards.front().second.metadata.Object(M::kConfig));
      } catch (const std::exception& error) {
        throw experiments::MergeError(absl::StrCat(shards.front().first, ": ", error.what()));
      }
    }();
    for (const auto& spec : plan(settings)) planned.push_back(CellNameOf(spec));
    merged = experiments::MergeCellShards(
        shards, planned, [](const auto& record) { return CellNameOf(record); }, notes);
  } catch (const std::exception& error) {
    Fail(error.what(), experiments::kUsageErrorExit);
  }
  const std::string stem = files.front().stem;
  experiments::RunStore store = OpenOut(out_dir, stem);
  const std::string run_id = experiments::RunStore::NewRunId();
  merged.metadata.Set(M::kRunId, run_id);
  store.StartNew(run_id, Note);
  experiments::PublishCellRun(store, names, merged);
  if (!absl::GetFlag(FLAGS_quiet)) std::cout << format(merged.cells);
  for (const std::string& line : notes) Note(line);
  std::cout << absl::StrFormat("merge: wrote %s, %s and %s (run %s)\n",
                               (store.dir() / names.cells_csv).string(),
                               (store.dir() / names.samples_csv).string(),
                               (store.dir() / names.json).string(), run_id);
  return 0;
}

int MergeMatrix(const std::vector<ShardFiles>& files, const fs::path& out_dir) {
  std::vector<am::MatrixShard> shards;
  for (const ShardFiles& f : files) {
    am::MatrixShard shard{f.given, ParseShardFile(f, "context.json", [](auto json) { return json; }),
                          {}};
    for (const auto& [name, text] : f.json) {
      if (!absl::StartsWith(name, "matrix_")) continue;
      try {
        shard.benchmarks[name.substr(0, name.size() - 5)] =
            nlohmann::json::parse(am::SanitizeBenchmarkJson(text));
      } catch (const std::exception& error) {
        Fail(absl::StrCat(f.given, "/", name, ": ", error.what()), experiments::kUsageErrorExit);
      }
    }
    shards.push_back(std::move(shard));
  }
  std::vector<std::string> notes;
  am::MergedMatrix merged;
  try {
    merged = am::MergeMatrixShards(shards, notes);
  } catch (const std::exception& error) {
    Fail(error.what(), experiments::kUsageErrorExit);
  }
  experiments::RunStore store = OpenOut(out_dir, am::kStem);
  const std::string run_id = experiments::RunStore::NewRunId();
  merged.metadata.Set(M::kRunId, run_id);
  store.StartNew(run_id, Note);
  for (const auto& [binary, doc] : merged.benchmarks) store.Write(binary + ".json", doc.dump(2));
  nlohmann::ordered_json context;
  context["metadata"] = merged.metadata.Json();
  context["binaries"] = merged.binaries;
  store.Write("context.json", context.dump(2) + "\n");
  store.Write("allocator_matrix.csv", experiments::CsvDocument(merged.rows));
  store.Publish();
  for (const std::string& line : notes) Note(line);
  std::cout << absl::StrFormat("merge: wrote %s (%d rows) and %s (run %s)\n",
                               (store.dir() / "allocator_matrix.csv").string(), merged.rows.size(),
                               (store.dir() / "context.json").string(), run_id);
  return 0;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> dirs =
      experiments::ParseFlagsAndArgumentsOrExit(argc, argv, kUsage, 100000, kProgram);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) FlagError("out", "required: the directory for the merged result");
  if (dirs.empty()) Fail("no shard directories given", experiments::kUsageErrorExit);
  std::vector<ShardFiles> files;
  for (const std::string& dir : dirs) {
    files.push_back(ReadShard(dir));
    if (files.back().stem != files.front().stem) {
      Fail(absl::StrCat(dir, ": a ", files.back().stem, " result, ", files.front().given, " a ",
                        files.front().stem, " one: shards of one run only"),
           experiments::kUsageErrorExit);
    }
  }
  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(out);
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  // Publishing into a shard's own directory would replace that shard's result with the merge.
  for (const ShardFiles& f : files) {
    std::error_code ec;
    if (!absl::EndsWith(f.given, ".zip") && fs::equivalent(out_dir, f.dir, ec)) {
      FlagError("out", absl::StrCat(out_dir.string(), " is the shard directory ", f.given,
                                    ": the merged result needs a directory of its own"));
    }
  }
  const std::string& stem = files.front().stem;
  if (stem == mt::kFiles.stem) {
    return MergeCells<mt::Results>(files, out_dir, mt::kFiles, mt::SettingsFromJson,
                                   [](const mt::Settings& s) { return mt::PlanCells(s, ""); },
                                   mt::FormatCells);
  }
  if (stem == pc::kFiles.stem) {
    return MergeCells<pc::Results>(files, out_dir, pc::kFiles, pc::SettingsFromJson,
                                   [](const pc::Settings& s) { return pc::PlanCells(s, ""); },
                                   pc::FormatCells);
  }
  if (stem == am::kStem) return MergeMatrix(files, out_dir);
  return MergePool(files, out_dir, argv[0]);
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
