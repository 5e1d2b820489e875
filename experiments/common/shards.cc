#include "experiments/common/shards.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <queue>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/run_metadata.h"

ABSL_FLAG(std::string, shard, "",
          "I/N: measure part I (0..N-1) of the grid only, e.g. one task of a Slurm job array "
          "(experiments/slurm/); merge the N shards' --out directories with "
          "bazel run //experiments:merge");

namespace experiments {
namespace {

using M = schema::RunMetadata::Field;

}  // namespace

std::optional<Shard> ParseShard(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  Shard shard;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &shard.index) ||
      !absl::SimpleAtoi(parts[1], &shard.count) || shard.count < 1 || shard.count > 100000 ||
      shard.index < 0 || shard.index >= shard.count) {
    return std::nullopt;
  }
  return shard;
}

std::string ShardName(const Shard& shard) { return absl::StrCat(shard.index, "/", shard.count); }

std::optional<Shard> ShardFlag() {
  const std::string text = absl::GetFlag(FLAGS_shard);
  if (text.empty()) return std::nullopt;
  const std::optional<Shard> shard = ParseShard(text);
  if (!shard) {
    FlagError("shard", absl::StrCat("expected I/N with 0 <= I < N <= 100000, got ",
                                    QuoteValue(text)));
  }
  return shard;
}

std::string MergeHint(const std::optional<Shard>& shard) {
  if (!shard) return "";
  return absl::StrCat(" Shard ", ShardName(*shard), ": merge every shard's --out directory with "
                      "bazel run //experiments:merge -- --out=DIR SHARD_DIR...");
}

std::vector<int> AssignShards(const std::vector<std::uint64_t>& costs, int count) {
  std::vector<std::size_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
  // (load, shard): the least loaded on top, the lowest shard among equals.
  using Load = std::pair<std::uint64_t, int>;
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> loads;
  for (int i = 0; i < count; ++i) loads.push({0, i});
  std::vector<int> owner(costs.size(), 0);
  for (std::size_t item : order) {
    auto [load, shard] = loads.top();
    loads.pop();
    owner[item] = shard;
    loads.push({load + costs[item], shard});
  }
  return owner;
}

std::vector<std::size_t> ItemsOf(const std::optional<Shard>& shard,
                                 const std::vector<std::uint64_t>& costs) {
  const std::vector<int> owner = AssignShards(costs, shard ? shard->count : 1);
  std::vector<std::size_t> items;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    if (owner[i] == (shard ? shard->index : 0)) items.push_back(i);
  }
  return items;
}

int CheckShardSet(const std::vector<ShardMetadata>& shards,
                  std::initializer_list<const char*> host_settings) {
  if (shards.empty()) throw MergeError("no shards to merge");
  // The config without what legitimately differs between shards.
  auto comparable = [&](nlohmann::ordered_json config) {
    config.erase("shard");
    for (const char* key : host_settings) config.erase(key);
    return config;
  };
  const ShardMetadata& first = shards.front();
  const nlohmann::ordered_json reference = comparable(first.metadata.Object(M::kConfig));
  std::map<int, std::string> seen;  // shard index -> directory
  int count = 0;
  for (const auto& [dir, metadata] : shards) {
    const nlohmann::ordered_json config = metadata.Object(M::kConfig);
    const std::optional<Shard> shard = ParseShard(
        config.contains("shard") && config["shard"].is_string() ? config["shard"].get<std::string>()
                                                                : "");
    if (!shard) throw MergeError(absl::StrCat(dir, ": not a shard of a sharded run (no --shard)"));
    if (metadata.Int(M::kSchemaVersion) != schema::kVersion) {
      throw MergeError(absl::StrCat(dir, ": schema version ", metadata.Int(M::kSchemaVersion),
                                    "; this merge reads version ", schema::kVersion));
    }
    if (metadata.Str(M::kExperiment) != first.metadata.Str(M::kExperiment)) {
      throw MergeError(absl::StrCat(dir, ": a ", metadata.Str(M::kExperiment), " run, ", first.dir,
                                    " a ", first.metadata.Str(M::kExperiment), " run"));
    }
    if (!metadata.Bool(M::kComplete)) {
      throw MergeError(absl::StrCat(dir, ": shard ", ShardName(*shard),
                                    " is incomplete (run it again with the same flags)"));
    }
    if (count == 0) count = shard->count;
    if (shard->count != count) {
      throw MergeError(absl::StrCat(dir, ": shard ", ShardName(*shard), " of a run in ",
                                    shard->count, " shards, not ", count));
    }
    if (const auto [it, inserted] = seen.emplace(shard->index, dir); !inserted) {
      throw MergeError(absl::StrCat("shard ", ShardName(*shard), " given twice: ", it->second,
                                    " and ", dir));
    }
    // The process malloc by name: its description's version may differ between nodes' packages.
    const auto malloc_name = [](const MetadataRecord& m) {
      const std::string d = m.Str(M::kProcessMalloc);
      return d.substr(0, d.find(' '));
    };
    if (malloc_name(metadata) != malloc_name(first.metadata)) {
      throw MergeError(absl::StrCat(dir, ": measured under ", metadata.Str(M::kProcessMalloc), ", ",
                                    first.dir, " under ", first.metadata.Str(M::kProcessMalloc),
                                    ": one binary for every shard"));
    }
    if (metadata.Str(M::kGitCommit) != first.metadata.Str(M::kGitCommit)) {
      throw MergeError(absl::StrCat(dir, ": measured at commit ", metadata.Str(M::kGitCommit), ", ",
                                    first.dir, " at ", first.metadata.Str(M::kGitCommit)));
    }
    if (const auto difference = ConfigDifference(reference, comparable(config))) {
      throw MergeError(absl::StrCat(dir, ": measured with other settings than ", first.dir, " (",
                                    *difference, ")"));
    }
  }
  for (int i = 0; i < count; ++i) {
    if (!seen.count(i)) throw MergeError(absl::StrCat("shard ", i, "/", count, " is missing"));
  }
  return count;
}

MetadataRecord MergedMetadata(const std::vector<ShardMetadata>& shards,
                              const std::set<std::string>& hosts, std::vector<std::string>& notes) {
  MetadataRecord merged = shards.front().metadata;
  double seconds = 0;
  std::int64_t sessions = 0;
  for (const ShardMetadata& s : shards) {
    seconds += s.metadata.Float(M::kDurationSeconds);
    sessions += s.metadata.Int(M::kSessions);
  }
  nlohmann::ordered_json config = merged.Object(M::kConfig);
  config["shard"] = "";
  // The command line of the whole run: the first shard's without the shard and its directory.
  std::vector<std::string> argv;
  const std::vector<std::string> shard_argv = merged.StrList(M::kArgv);
  for (std::size_t i = 0; i < shard_argv.size(); ++i) {
    // Abseil takes -flag as --flag.
    const std::string a = absl::StartsWith(shard_argv[i], "--") || !absl::StartsWith(shard_argv[i], "-")
                              ? shard_argv[i]
                              : "-" + shard_argv[i];
    if (a == "--shard" || a == "--out") {
      ++i;  // and its value
    } else if (!absl::StartsWith(a, "--shard=") && !absl::StartsWith(a, "--out=")) {
      argv.push_back(shard_argv[i]);
    }
  }
  merged.Set(M::kConfig, config)
      .Set(M::kArgv, argv)
      .Set(M::kComplete, true)
      .Set(M::kSessions, sessions)
      .Set(M::kDurationSeconds, seconds);
  if (hosts.size() > 1) {
    merged.Set(M::kHost, absl::StrCat("mixed: ", absl::StrJoin(hosts, ",")));
    notes.push_back(absl::StrFormat(
        "the shards ran on %d host classes (%s): counts merge, but times compare only between "
        "rows of one class (the rows' host column)",
        hosts.size(), absl::StrJoin(hosts, ", ")));
  }
  return merged;
}

}  // namespace experiments
