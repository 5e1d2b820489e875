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

// What the host decides rather than the flags, and so may differ between shards: --jobs defaults
// to the cores, the process malloc's description names its version, finding 4's fallbacks leave
// out a library a node lacks (shards never measure finding 4).
constexpr std::initializer_list<const char*> kHostSettings = {"jobs", "process_malloc",
                                                               "finding4_fallbacks"};

std::string Describe(const Cell& c) {
  return absl::StrFormat("%s n=%d pool=%d seed %d", PolicyName(c.policy), c.n, c.pool_slots,
                         c.seed);
}

}  // namespace

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
  const std::vector<int> owner = AssignShards(cost, shard.count);
  ShardWork work;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (owner[i] == shard.index) work.cells.push_back(cells[i]);
  }
  for (std::size_t i = 0; i < searches.size(); ++i) {
    if (owner[cells.size() + i] == shard.index) work.searches.push_back(searches[i]);
  }
  return work;
}

Results MergeShards(const std::vector<std::pair<std::string, Results>>& shards,
                    std::vector<std::string>& notes) {
  std::vector<ShardMetadata> metadata;
  for (const auto& [dir, r] : shards) metadata.push_back({dir, r.metadata});
  const int count = CheckShardSet(metadata, kHostSettings);
  const nlohmann::ordered_json reference_config = shards.front().second.metadata.Object(M::kConfig);
  Config config = ConfigFromJson(reference_config);
  config.shard.clear();
  Results merged;
  // Every planned cell exactly once, in plan order; every capacity search once.
  std::map<std::string, std::pair<const CellRecord*, std::string>> cells;
  std::map<std::string, std::pair<const CapacityRecord*, std::string>> capacities;
  std::set<std::string> hosts;
  double seconds = 0;
  for (const auto& [dir, r] : shards) {
    hosts.insert(r.metadata.Str(M::kHost));
    seconds += r.metadata.Float(M::kDurationSeconds);
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
  merged.metadata = MergedMetadata(metadata, hosts, notes);
  notes.push_back(absl::StrFormat("merged %d shards: %d cells, %d capacity searches, %.1f s of "
                                  "measuring",
                                  count, merged.rows.size(), merged.capacities.size(), seconds));
  notes.push_back("sharded runs measure the grid and the capacity searches only: finding 3's "
                  "verification, finding 4's map and finding 5's allocation cost need an "
                  "unsharded run");
  return merged;
}

}  // namespace experiments::pool_exhaustion
