// experiments/allocator_matrix/shards.h: the shards of a sharded allocator-matrix run
// (allocator_matrix --shard=I/N: each measures its part of every binary's benchmarks,
// experiments/common/shards.h) put back together: per binary, one Google Benchmark JSON holding
// every planned benchmark once, in the listing's order, and the rows and context derived from it.
#ifndef HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_SHARDS_H_
#define HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_SHARDS_H_

#include <map>
#include <string>
#include <vector>

#include "experiments/allocator_matrix/merge.h"
#include "experiments/common/shards.h"
#include "nlohmann/json.hpp"

namespace experiments::allocator_matrix {

// One shard as read from its published run: context.json and each binary's Google Benchmark JSON
// (matrix_<malloc>.json, parsed after SanitizeBenchmarkJson), by binary name.
struct MatrixShard {
  std::string dir;
  nlohmann::ordered_json context;
  std::map<std::string, nlohmann::json> benchmarks;
};

struct MergedMatrix {
  MetadataRecord metadata;
  nlohmann::ordered_json binaries;                // context.json's "binaries"
  std::map<std::string, nlohmann::json> benchmarks;  // binary -> merged Google Benchmark JSON
  std::vector<MatrixRecord> rows;                 // allocator_matrix.csv
};

// Checks the shards (CheckShardSet; every shard planned the same benchmarks) and merges them.
// Throws MergeError on a benchmark measured twice, missing from every shard, or not planned.
// Appends to `notes` what a reader must know.
MergedMatrix MergeMatrixShards(const std::vector<MatrixShard>& shards,
                               std::vector<std::string>& notes);

}  // namespace experiments::allocator_matrix

#endif  // HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_SHARDS_H_
