#include "experiments/pool_exhaustion/shards.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "experiments/common/console.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;
using M = schema::RunMetadata::Field;
using P = schema::PoolCapacity::Field;

// A shard's config without what legitimately differs between shards: the shard itself, and what
// the host decides rather than the flags (--jobs defaults to the cores, the process malloc's
// description names its version, finding 4's fallbacks leave out a library a node lacks; shards
// never measure finding 4).
nlohmann::ordered_json WithoutHostSettings(nlohmann::ordered_json config) {
  for (const char* key : {"shard", "jobs", "process_malloc", "finding4_fallbacks"}) {
    config.erase(key);
  }
  return config;
}

std::string Describe(const Cell& c) {
  return absl::StrFormat("%s n=%d pool=%d seed %d", PolicyName(c.policy), c.n, c.pool_slots,
                         c.seed);
}

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

ShardWork WorkOf(const Config& config, const Shard& shard, const Predictor& predictor) {
  // Every item of the plan with its expected cost in key insertions: a cell builds (and queries)
  // its map once per repetition, plus its allocations; a capacity search inserts keys until the
  // pool's first fallback, which the demand model expects at exhaustion_n.
  const std::vector<Cell> cells = GridCells(config);
  const std::vector<CapacitySearch> searches = CapacitySearches(config);
  // Costs are whole numbers: a last-bit difference in the model's floating point between two
  // machines' libm must not flip a near tie, and with it the assignment.
  std::vector<std::uint64_t> cost;
  for (const Cell& c : cells) {
    const double n = static_cast<double>(c.n);
    cost.push_back(static_cast<std::uint64_t>(std::llround(
        RepetitionsFor(c, config.repetitions) *
        (2 * n + predictor.For(c.policy, c.n, c.pool_slots).allocations))));
  }
  const double limit = static_cast<double>(config.capacity_search_limit);
  for (const CapacitySearch& s : searches) {
    const Prediction p = predictor.For(s.policy, config.capacity_search_limit, s.pool_slots);
    cost.push_back(
        static_cast<std::uint64_t>(std::llround(std::min(limit, p.exhaustion_n.value_or(limit)))));
  }
  // Longest first, each to the least loaded shard (ties: plan order, lowest shard): the same
  // assignment on every machine.
  std::vector<std::size_t> order(cost.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<std::uint64_t> load(shard.count, 0);
  std::vector<bool> mine(cost.size(), false);
  for (std::size_t item : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    load[least] += cost[item];
    mine[item] = least == shard.index;
  }
  ShardWork work;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (mine[i]) work.cells.push_back(cells[i]);
  }
  for (std::size_t i = 0; i < searches.size(); ++i) {
    if (mine[cells.size() + i]) work.searches.push_back(searches[i]);
  }
  return work;
}

Results MergeShards(const std::vector<std::pair<std::string, Results>>& shards,
                    std::vector<std::string>& notes) {
  if (shards.empty()) throw MergeError("no shards to merge");
  const auto& [first_dir, first] = shards.front();
  nlohmann::ordered_json reference_config = first.metadata.Object(M::kConfig);
  const std::string commit = first.metadata.Str(M::kGitCommit);
  // Which shard each directory holds; every one of 0..N-1 exactly once.
  std::map<int, std::string> seen;
  int count = 0;
  for (const auto& [dir, r] : shards) {
    nlohmann::ordered_json config = r.metadata.Object(M::kConfig);
    const std::optional<Shard> shard =
        ParseShard(config.contains("shard") ? config["shard"].get<std::string>() : "");
    if (!shard) throw MergeError(absl::StrCat(dir, ": not a shard of a sharded run (no --shard)"));
    if (r.metadata.Int(M::kSchemaVersion) != schema::kVersion) {
      throw MergeError(absl::StrCat(dir, ": schema version ", r.metadata.Int(M::kSchemaVersion),
                                    "; this merge reads version ", schema::kVersion));
    }
    if (!r.metadata.Bool(M::kComplete)) {
      throw MergeError(absl::StrCat(dir, ": shard ", ShardName(*shard),
                                    " is incomplete (finish it with --resume)"));
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
    if (r.metadata.Str(M::kGitCommit) != commit) {
      throw MergeError(absl::StrCat(dir, ": measured at commit ", r.metadata.Str(M::kGitCommit),
                                    ", ", first_dir, " at ", commit));
    }
    if (const auto difference =
            ConfigDifference(WithoutHostSettings(reference_config), WithoutHostSettings(config))) {
      throw MergeError(absl::StrCat(dir, ": measured with other settings than ", first_dir, " (",
                                    *difference, ")"));
    }
  }
  for (int i = 0; i < count; ++i) {
    if (!seen.count(i)) throw MergeError(absl::StrCat("shard ", i, "/", count, " is missing"));
  }

  Config config = ConfigFromJson(reference_config);
  config.shard.clear();
  Results merged;
  merged.metadata = first.metadata;
  // Every planned cell exactly once, in plan order; every capacity search once.
  std::map<std::string, std::pair<const CellRecord*, std::string>> cells;
  std::map<std::string, std::pair<const CapacityRecord*, std::string>> capacities;
  std::set<std::string> hosts;
  double seconds = 0;
  std::int64_t sessions = 0;
  for (const auto& [dir, r] : shards) {
    hosts.insert(r.metadata.Str(M::kHost));
    seconds += r.metadata.Float(M::kDurationSeconds);
    sessions += r.metadata.Int(M::kSessions);
    for (const CellRecord& row : r.rows) {
      hosts.insert(row.Str(F::kHost));  // a resumed shard may have moved to another node
      if (row.Str(F::kRole) != kGrid) {
        throw MergeError(absl::StrCat(dir, ": a ", row.Str(F::kRole), " row: not a shard's"));
      }
      const std::string key = Describe(CellOf(row));
      if (const auto [it, inserted] = cells.emplace(key, std::make_pair(&row, dir)); !inserted) {
        throw MergeError(absl::StrCat("the cell ", key, " was measured by ", it->second.second,
                                      " and by ", dir));
      }
    }
    for (const CapacityRecord& c : r.capacities) {
      const std::string key = absl::StrCat(c.Str(P::kPolicy), " pool=", c.Count(P::kPoolSlots));
      if (const auto [it, inserted] = capacities.emplace(key, std::make_pair(&c, dir));
          !inserted) {
        throw MergeError(absl::StrCat("the capacity search ", key, " was done by ",
                                      it->second.second, " and by ", dir));
      }
    }
  }
  for (const Cell& cell : GridCells(config)) {
    const auto it = cells.find(Describe(cell));
    if (it == cells.end()) {
      throw MergeError(absl::StrCat("the cell ", Describe(cell), " is missing from every shard"));
    }
    merged.rows.push_back(*it->second.first);
    cells.erase(it);
  }
  if (!cells.empty()) {
    throw MergeError(absl::StrCat(cells.begin()->second.second, ": the cell ", cells.begin()->first,
                                  " is not in the plan"));
  }
  for (const CapacitySearch& s : CapacitySearches(config)) {
    const std::string key = absl::StrCat(PolicyName(s.policy), " pool=", s.pool_slots);
    const auto it = capacities.find(key);
    if (it == capacities.end()) {
      throw MergeError(absl::StrCat("the capacity search ", key, " is missing from every shard"));
    }
    merged.capacities.push_back(*it->second.first);
  }
  reference_config["shard"] = "";
  merged.metadata.Set(M::kConfig, reference_config)
      .Set(M::kComplete, true)
      .Set(M::kSessions, sessions)
      .Set(M::kDurationSeconds, seconds);
  if (hosts.size() > 1) {
    merged.metadata.Set(M::kHost, absl::StrCat("mixed: ", absl::StrJoin(hosts, ",")));
    notes.push_back(absl::StrFormat(
        "the shards ran on %d host classes (%s): counts merge, but times compare only between "
        "cells of one class (the rows' host column)",
        hosts.size(), absl::StrJoin(hosts, ", ")));
  }
  notes.push_back(absl::StrFormat("merged %d shards: %d cells, %d capacity searches, %.1f s of "
                                  "measuring",
                                  count, merged.rows.size(), merged.capacities.size(), seconds));
  notes.push_back("sharded runs measure the grid and the capacity searches only: finding 3's "
                  "verification, finding 4's map and finding 5's allocation cost need an "
                  "unsharded run");
  return merged;
}

}  // namespace experiments::pool_exhaustion
