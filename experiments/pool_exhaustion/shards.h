// experiments/pool_exhaustion/shards.h: one grid split over processes or machines (--shard=I/N,
// e.g. the tasks of a Slurm job array), and the shards' results put back together.
//
// Every shard plans the same work (the grid's cells and the capacity searches, plan.h) and keeps
// the part assigned to it: deterministic (the same on every machine), balanced by the demand
// model's expected cost. Phase 2's other cells (finding 3's verification, finding 4's map, the
// allocation cost) follow from the whole grid, so a sharded run leaves them out; the merged result
// judges the findings its records can decide, and says what the others need.
//
// Counts are deterministic: a merged run's counts equal a single process's, cell for cell.
// Timings are not comparable across host classes (run_metadata.host): each cell records its own,
// and MergeShards says when the shards ran on more than one.
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SHARDS_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SHARDS_H_

#include <string>
#include <utility>
#include <vector>

#include "experiments/common/shards.h"
#include "experiments/pool_exhaustion/plan.h"
#include "experiments/pool_exhaustion/predict.h"
#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// The grid cells and capacity searches shard `shard` of `config` measures.
struct ShardWork {
  std::vector<Cell> cells;
  std::vector<CapacitySearch> searches;
};
ShardWork WorkOf(const Config& config, const Shard& shard, const Predictor& predictor);

// Merges the complete results of every shard of one sharded run (each with the directory it was
// read from, for messages). Refuses shards of different commits or settings, a shard given twice or
// missing, an incomplete shard, a cell measured twice and a planned cell missing. The result holds
// every grid row in plan order and every capacity, with metadata from the first shard (complete,
// sessions and durations summed, config.shard cleared, host "mixed: ..." when the hosts differ);
// findings and sizing are left to Conclude(). `notes` gets one line per thing a reader must know.
Results MergeShards(const std::vector<std::pair<std::string, Results>>& shards,
                    std::vector<std::string>& notes);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_SHARDS_H_
