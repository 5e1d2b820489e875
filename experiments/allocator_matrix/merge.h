// experiments/allocator_matrix/merge.h: Google Benchmark's JSON of each per-malloc binary ->
// allocator_matrix.csv records (experiments/schema/schema.json: matrix_row).
//
// Per-op time is Google Benchmark's cpu_time (one thread's CPU time per iteration) divided by the
// ops_per_iter counter, every repetition kept; the row holds their median and coefficient of
// variation. analysis/ derives the same from the JSON when the CSV is absent (report_test checks
// the two agree).
#ifndef HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_
#define HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_

#include <string>
#include <vector>

#include "experiments/common/records.h"
#include "experiments/common/statistics.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

namespace experiments::allocator_matrix {

// The run store's stem (run_store.h): a run publishes <stem>.current holding allocator_matrix.csv,
// context.json and one matrix_<malloc>.json per binary.
inline constexpr const char* kStem = "allocator_matrix";

using MatrixRecord = Record<schema::MatrixRow>;

// Google Benchmark writes NaN and inf as bare words (e.g. the cv aggregate of an all-zero counter),
// which is not JSON; this replaces those values with null.
std::string SanitizeBenchmarkJson(const std::string& text);

// One record per benchmark of one binary's JSON (run_type "iteration" entries grouped by run_name,
// in order of first appearance). The process malloc comes from context.process_malloc
// (`fallback_malloc` when absent), the host class from the entry's host_class (a merged
// file's, allocator_matrix/shards.h) or else context.host_class. Throws std::runtime_error on a
// malformed file.
std::vector<MatrixRecord> RecordsFromBenchmarkJson(const nlohmann::json& doc,
                                                   const std::string& fallback_malloc);

// The context facts worth keeping next to the CSV: process_malloc, cpu_scaling_enabled,
// library_build_type, host, date, num_cpus, mhz_per_cpu, caches, load_avg, and our custom ones.
nlohmann::ordered_json ContextSummary(const nlohmann::json& doc);

}  // namespace experiments::allocator_matrix

#endif  // HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_
