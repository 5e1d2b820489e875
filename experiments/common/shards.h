// experiments/common/shards.h: one grid split over processes or machines (--shard=I/N, e.g. the
// tasks of a Slurm job array, experiments/slurm/), and the shards' results checked before they are
// put back together (the merge: bazel run //experiments:merge).
//
// Every shard plans the same work and keeps the part AssignShards gives it: deterministic (the
// same on every machine), balanced by each item's expected cost. Counts are deterministic, so a
// merged run's counts equal a single process's, cell for cell; timings compare only within one
// host class (run_metadata.host), which every record names.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_SHARDS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_SHARDS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "experiments/common/records.h"
#include "experiments/schema/schema.h"

namespace experiments {

struct Shard {
  int index = 0, count = 1;  // part `index` of `count`, 0 <= index < count
  friend bool operator==(const Shard&, const Shard&) = default;
};
// "I/N" with 0 <= I < N <= 100000; nullopt for anything else.
std::optional<Shard> ParseShard(absl::string_view text);
std::string ShardName(const Shard& shard);  // "I/N"

// --shard (defined once, in shards.cc, for every experiment that shards its grid): nullopt when
// not given; exits through FlagError("shard") on a malformed value.
std::optional<Shard> ShardFlag();

// What a shard's run says at its end: " Shard I/N: merge ..." naming //experiments:merge; "" for an
// unsharded run.
std::string MergeHint(const std::optional<Shard>& shard);

// The shard (0..count-1) of each item, from their costs: longest first (ties in item order), each
// to the least loaded shard (ties: the lowest). Deterministic; O(items log items).
std::vector<int> AssignShards(const std::vector<std::uint64_t>& costs, int count);

// The items (indices, in plan order) `shard` measures, of items costing `costs`; every item when
// there is no shard.
std::vector<std::size_t> ItemsOf(const std::optional<Shard>& shard,
                                 const std::vector<std::uint64_t>& costs);

// A problem that makes shards impossible to merge; what() names the directory and the cell, shard
// or setting.
class MergeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using MetadataRecord = Record<schema::RunMetadata>;

// One shard's run metadata and the directory it was read from (for messages).
struct ShardMetadata {
  std::string dir;
  MetadataRecord metadata;
};

// Checks that `shards` are every shard of one sharded run, each once: the same experiment, schema
// version, commit and settings (metadata.config, except "shard" and `host_settings`: what the host
// decides rather than the flags, e.g. --jobs), every shard complete. Returns the shard count;
// throws MergeError naming the directory and the problem.
int CheckShardSet(const std::vector<ShardMetadata>& shards,
                  std::initializer_list<const char*> host_settings);

// The merged run's metadata: the first shard's, complete, its config's shard cleared, sessions and
// durations summed, host "mixed: a,b" when `hosts` (the shards' and their rows') has several.
// Appends to `notes` what a reader must know (the host classes).
MetadataRecord MergedMetadata(const std::vector<ShardMetadata>& shards,
                              const std::set<std::string>& hosts, std::vector<std::string>& notes);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_SHARDS_H_
