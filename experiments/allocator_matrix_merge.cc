#include "experiments/allocator_matrix_merge.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace experiments::allocator_matrix {
namespace {

std::string Num(double v) { return absl::StrFormat("%.6g", v); }
std::string Opt(const std::optional<double>& v) { return v ? Num(*v) : std::string(); }

double NsPerUnit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw std::runtime_error("unknown time_unit '" + unit + "'");
}

std::optional<double> MedianOf(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  return Median(values);
}

}  // namespace

std::vector<std::string> CsvHeader() {
  return {"schema_version", "process_malloc", "workload",       "policy",
          "n",              "threads",        "repetitions",    "ns_per_op",
          "ns_per_op_cv",   "ns_per_op_reps", "allocs_per_op",  "bytes_per_op",
          "bytes_per_entry", "peak_rss_kb",   "fallback_pct",   "error",       "real_ns_per_op"};
}

std::vector<std::string> CsvRow(const Row& row) {
  std::vector<std::string> reps;
  for (double v : row.ns_per_op_reps) reps.push_back(absl::StrFormat("%.3f", v));
  const bool timed = !row.ns_per_op_reps.empty();
  return {std::to_string(kSchemaVersion),
          row.process_malloc,
          row.workload,
          row.policy,
          std::to_string(row.n),
          std::to_string(row.threads),
          std::to_string(row.ns_per_op_reps.size()),
          timed ? Num(Median(row.ns_per_op_reps)) : "",
          timed ? absl::StrFormat("%.4f", CoefficientOfVariation(row.ns_per_op_reps)) : "",
          absl::StrJoin(reps, ";"),
          Opt(row.allocs_per_op),
          Opt(row.bytes_per_op),
          Opt(row.bytes_per_entry),
          Opt(row.peak_rss_kb),
          Opt(row.fallback_pct),
          row.error,
          row.real_ns_per_op_reps.empty() ? "" : Num(Median(row.real_ns_per_op_reps))};
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double CoefficientOfVariation(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  double mean = 0;
  for (double v : values) mean += v;
  mean /= values.size();
  if (mean == 0) return 0;
  double sq = 0;
  for (double v : values) sq += (v - mean) * (v - mean);
  return std::sqrt(sq / (values.size() - 1)) / mean;
}

std::string SanitizeBenchmarkJson(const std::string& text) {
  static const std::regex bad(R"((:\s*)-?(nan|NaN|inf|Inf|infinity|Infinity)\b)");
  return std::regex_replace(text, bad, "$1null");
}

std::vector<Row> RowsFromBenchmarkJson(const nlohmann::json& doc, const std::string& fallback_malloc) {
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    throw std::runtime_error("no \"benchmarks\" array");
  }
  std::string process_malloc = fallback_malloc;
  if (doc.contains("context") && doc["context"].contains("process_malloc")) {
    process_malloc = doc["context"]["process_malloc"].get<std::string>();
  }
  std::vector<Row> rows;
  std::map<std::string, std::size_t> index;  // run_name -> rows
  struct Counters {
    std::vector<double> allocs, bytes, per_entry, rss, fallback;
  };
  std::vector<Counters> counters;
  for (const nlohmann::json& b : doc["benchmarks"]) {
    if (b.value("run_type", "iteration") != "iteration") continue;
    const std::string run_name = b.value("run_name", b.value("name", ""));
    auto [it, inserted] = index.emplace(run_name, rows.size());
    if (inserted) {
      Row row;
      row.process_malloc = process_malloc;
      const std::vector<std::string> parts = absl::StrSplit(run_name, '/');
      if (parts.size() < 3 || parts[2].rfind("keys:", 0) != 0 ||
          !absl::SimpleAtoi(parts[2].substr(5), &row.n)) {
        throw std::runtime_error("unexpected benchmark name '" + run_name + "'");
      }
      row.workload = parts[0];
      row.policy = parts[1];
      row.threads = b.value("threads", 1);
      rows.push_back(row);
      counters.emplace_back();
    }
    Row& row = rows[it->second];
    Counters& c = counters[it->second];
    if (b.value("error_occurred", false)) {
      row.error = b.value("error_message", "error");
      continue;
    }
    const double ops = b.value("ops_per_iter", 0.0);
    if (ops <= 0) throw std::runtime_error(run_name + ": no ops_per_iter counter");
    const double unit = NsPerUnit(b.value("time_unit", "ns"));
    const double cpu_ns = b.at("cpu_time").get<double>() * unit;
    const double real_ns = b.at("real_time").get<double>() * unit;
    row.ns_per_op_reps.push_back(cpu_ns / ops);
    row.real_ns_per_op_reps.push_back(real_ns / ops);
    auto take = [&b](const char* name, std::vector<double>& into) {
      if (b.contains(name) && b[name].is_number()) into.push_back(b[name].get<double>());
    };
    take("allocs_per_op", c.allocs);
    take("bytes_per_op", c.bytes);
    take("bytes_per_entry", c.per_entry);
    take("peak_rss_kb", c.rss);
    take("fallback_pct", c.fallback);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].allocs_per_op = MedianOf(counters[i].allocs);
    rows[i].bytes_per_op = MedianOf(counters[i].bytes);
    rows[i].bytes_per_entry = MedianOf(counters[i].per_entry);
    rows[i].peak_rss_kb = MedianOf(counters[i].rss);
    rows[i].fallback_pct = MedianOf(counters[i].fallback);
  }
  return rows;
}

nlohmann::ordered_json ContextSummary(const nlohmann::json& doc) {
  nlohmann::ordered_json out;
  if (!doc.contains("context")) return out;
  const nlohmann::json& ctx = doc["context"];
  for (const char* key :
       {"process_malloc", "process_malloc_version", "process_malloc_library", "cpu_scaling_enabled",
        "library_build_type", "compiler", "build_flags", "host_name", "executable", "date",
        "num_cpus", "mhz_per_cpu", "load_avg", "caches"}) {
    if (ctx.contains(key)) out[key] = ctx[key];
  }
  return out;
}

}  // namespace experiments::allocator_matrix
