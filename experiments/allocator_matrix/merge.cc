#include "experiments/allocator_matrix/merge.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace experiments::allocator_matrix {
namespace {

double NsPerUnit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw std::runtime_error("unknown time_unit '" + unit + "'");
}

// One benchmark's repetitions, as read.
struct Group {
  std::string process_malloc, host, workload, policy, error;
  std::int64_t n = 0;
  int threads = 1;
  std::vector<double> cpu_per_op, real_per_op;
  std::map<std::string, std::vector<double>> counters;
};

// The value of one matrix_row field. No default: a field added to schema.json without a case
// here fails to compile (-Wswitch under -Werror).
Value RowValue(schema::MatrixRow::Field field, const Group& g) {
  using F = schema::MatrixRow::Field;
  const bool timed = !g.cpu_per_op.empty();
  auto counter = [&](const char* name) -> Value {
    const auto it = g.counters.find(name);
    if (it == g.counters.end() || it->second.empty()) return std::monostate{};
    return Median(it->second);
  };
  switch (field) {
    case F::kSchemaVersion: return std::int64_t{schema::kVersion};
    case F::kProcessMalloc: return g.process_malloc;
    case F::kHost: return g.host;
    case F::kWorkload: return g.workload;
    case F::kPolicy: return g.policy;
    case F::kN: return g.n;
    case F::kThreads: return std::int64_t{g.threads};
    case F::kRepetitions: return static_cast<std::int64_t>(g.cpu_per_op.size());
    case F::kNsPerOp: return timed ? Value(Median(g.cpu_per_op)) : Value();
    case F::kNsPerOpCv: return timed ? Value(CoefficientOfVariation(g.cpu_per_op)) : Value();
    case F::kNsPerOpCiLow:
    case F::kNsPerOpCiHigh: {
      const std::optional<Interval> ci = MedianConfidenceInterval(g.cpu_per_op);
      if (!ci) return std::monostate{};
      return field == F::kNsPerOpCiLow ? ci->low : ci->high;
    }
    case F::kNsPerOpReps: return g.cpu_per_op;
    case F::kAllocsPerOp: return counter("allocs_per_op");
    case F::kBytesPerOp: return counter("bytes_per_op");
    case F::kBytesPerEntry: return counter("bytes_per_entry");
    case F::kPeakRssKb: return counter("peak_rss_kb");
    case F::kFallbackPct: return counter("fallback_pct");
    case F::kError: return g.error;
    case F::kRealNsPerOp: return timed ? Value(Median(g.real_per_op)) : Value();
  }
  throw SchemaError("matrix_row: unknown field");
}

}  // namespace

std::string SanitizeBenchmarkJson(const std::string& text) {
  static const std::regex bad(R"((:\s*)-?(nan|NaN|inf|Inf|infinity|Infinity)\b)");
  return std::regex_replace(text, bad, "$1null");
}

std::vector<MatrixRecord> RecordsFromBenchmarkJson(const nlohmann::json& doc,
                                                   const std::string& fallback_malloc) {
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    throw std::runtime_error("no \"benchmarks\" array");
  }
  std::string process_malloc = fallback_malloc;
  if (doc.contains("context") && doc["context"].contains("process_malloc")) {
    process_malloc = doc["context"]["process_malloc"].get<std::string>();
  }
  // The host class of the binary that measured (run_metadata.h HostClass); "unknown" in a file
  // written before it was recorded.
  std::string host = "unknown";
  if (doc.contains("context") && doc["context"].contains("host_class")) {
    host = doc["context"]["host_class"].get<std::string>();
  }
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;  // run_name -> groups
  for (const nlohmann::json& b : doc["benchmarks"]) {
    if (b.value("run_type", "iteration") != "iteration") continue;
    const std::string run_name = b.value("run_name", b.value("name", ""));
    auto [it, inserted] = index.emplace(run_name, groups.size());
    if (inserted) {
      Group g;
      g.process_malloc = process_malloc;
      // A merged file's entries name the host class of the shard that measured them.
      g.host = b.value("host_class", host);
      const std::vector<std::string> parts = absl::StrSplit(run_name, '/');
      if (parts.size() < 3 || parts[2].rfind("keys:", 0) != 0 ||
          !absl::SimpleAtoi(parts[2].substr(5), &g.n)) {
        throw std::runtime_error("unexpected benchmark name '" + run_name + "'");
      }
      g.workload = parts[0];
      g.policy = parts[1];
      g.threads = b.value("threads", 1);
      groups.push_back(std::move(g));
    }
    Group& g = groups[it->second];
    if (b.value("error_occurred", false)) {
      g.error = b.value("error_message", "error");
      continue;
    }
    const double ops = b.value("ops_per_iter", 0.0);
    if (ops <= 0) throw std::runtime_error(run_name + ": no ops_per_iter counter");
    const double unit = NsPerUnit(b.value("time_unit", "ns"));
    g.cpu_per_op.push_back(b.at("cpu_time").get<double>() * unit / ops);
    g.real_per_op.push_back(b.at("real_time").get<double>() * unit / ops);
    for (const schema::FieldSpec& spec : schema::MatrixCounters::kFields) {
      const std::string name(spec.name);
      if (!b.contains(name) || b[name].is_null()) {
        if (spec.nullable) continue;
        throw std::runtime_error(run_name + ": no " + name + " counter");
      }
      if (!b[name].is_number() || !std::isfinite(b[name].get<double>())) {
        throw std::runtime_error(run_name + ": counter " + name + " is not a finite number");
      }
      g.counters[name].push_back(b[name].get<double>());
    }
  }
  std::vector<MatrixRecord> records;
  for (const Group& g : groups) {
    records.push_back(RecordFrom<schema::MatrixRow>(
        [&g](schema::MatrixRow::Field field) { return RowValue(field, g); }));
  }
  return records;
}

nlohmann::ordered_json ContextSummary(const nlohmann::json& doc) {
  nlohmann::ordered_json out;
  if (!doc.contains("context")) return out;
  const nlohmann::json& ctx = doc["context"];
  for (const char* key :
       {"process_malloc", "process_malloc_version", "process_malloc_library", "cpu_scaling_enabled",
        "library_build_type", "compiler", "build_flags", "host_class", "host_name", "executable", "date",
        "num_cpus", "mhz_per_cpu", "load_avg", "caches"}) {
    if (ctx.contains(key)) out[key] = ctx[key];
  }
  return out;
}

}  // namespace experiments::allocator_matrix
