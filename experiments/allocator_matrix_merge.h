// experiments/allocator_matrix_merge.h: merges the per-process-malloc Google Benchmark JSON files
// of the allocator matrix into allocator_matrix.csv (experiments/RESULTS_SCHEMA.md).
#ifndef HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_
#define HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace experiments::allocator_matrix {

inline constexpr int kSchemaVersion = 1;

// One merged row: one (process_malloc, workload, policy, n, threads).
struct Row {
  std::string process_malloc;
  std::string workload;
  std::string policy;
  long long n = 0;
  int threads = 1;
  // One per repetition: CPU time per op of one thread (cpu_time / ops_per_iter; Google Benchmark
  // reports CPU time per iteration of one thread), and wall time per op (real_time / ops_per_iter).
  std::vector<double> ns_per_op_reps;
  std::vector<double> real_ns_per_op_reps;
  // Counter medians; nullopt when the benchmark did not report the counter.
  std::optional<double> allocs_per_op, bytes_per_op, bytes_per_entry, peak_rss_kb, fallback_pct;
  std::string error;  // Google Benchmark's error_message when the benchmark failed
};

std::vector<std::string> CsvHeader();
std::vector<std::string> CsvRow(const Row& row);

double Median(std::vector<double> values);
// Sample standard deviation over the mean (0 for fewer than two values or a zero mean).
double CoefficientOfVariation(const std::vector<double>& values);

// Google Benchmark writes NaN and inf as bare words (e.g. the cv aggregate of an all-zero counter),
// which is not JSON; this replaces those values with null.
std::string SanitizeBenchmarkJson(const std::string& text);

// Rows of one binary's JSON output (run_type "iteration" entries grouped by run_name, in order of
// first appearance). The process malloc comes from context.process_malloc (`fallback_malloc` when
// absent). Throws std::runtime_error on a malformed file.
std::vector<Row> RowsFromBenchmarkJson(const nlohmann::json& doc, const std::string& fallback_malloc);

// The context facts worth keeping next to the CSV: process_malloc, cpu_scaling_enabled,
// library_build_type, host, date, num_cpus, mhz_per_cpu, caches, load_avg, and our custom ones.
nlohmann::ordered_json ContextSummary(const nlohmann::json& doc);

}  // namespace experiments::allocator_matrix

#endif  // HAMT_ALLOC_EXPERIMENTS_ALLOCATOR_MATRIX_MERGE_H_
