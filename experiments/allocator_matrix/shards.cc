#include "experiments/allocator_matrix/shards.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace experiments::allocator_matrix {
namespace {

using M = schema::RunMetadata::Field;
using R = schema::MatrixRow::Field;

}  // namespace

MergedMatrix MergeMatrixShards(const std::vector<MatrixShard>& shards,
                               std::vector<std::string>& notes) {
  std::vector<ShardMetadata> metadata;
  for (const MatrixShard& s : shards) {
    if (!s.context.is_object() || !s.context.contains("metadata") ||
        !s.context.contains("binaries") || !s.context["binaries"].is_object()) {
      throw MergeError(absl::StrCat(s.dir, ": context.json lacks metadata or binaries"));
    }
    try {
      metadata.push_back({s.dir, MetadataRecord::FromJson(s.context["metadata"], "metadata")});
    } catch (const SchemaError& error) {
      throw MergeError(absl::StrCat(s.dir, ": context.json: ", error.what()));
    }
  }
  const int count = CheckShardSet(metadata, {});
  MergedMatrix merged;
  merged.binaries = nlohmann::ordered_json::object();
  std::set<std::string> hosts;
  for (const ShardMetadata& m : metadata) hosts.insert(m.metadata.Str(M::kHost));
  std::size_t benchmarks = 0;
  for (const auto& [binary, first_entry] : shards.front().context["binaries"].items()) {
    const nlohmann::ordered_json planned = first_entry.value("planned", nlohmann::ordered_json());
    if (!planned.is_array()) {
      throw MergeError(absl::StrCat(shards.front().dir, ": context.json names no planned "
                                    "benchmarks for ", binary));
    }
    // Each planned benchmark's entries (repetitions and aggregates), from the one shard that ran it.
    std::map<std::string, std::pair<std::vector<nlohmann::json>, std::string>> measured;
    const nlohmann::json* first_doc = nullptr;
    double seconds = 0;
    for (const MatrixShard& s : shards) {
      const nlohmann::ordered_json entry = s.context["binaries"].value(binary, nlohmann::ordered_json());
      if (entry.value("planned", nlohmann::ordered_json()) != planned) {
        throw MergeError(absl::StrCat(s.dir, ": planned other ", binary, " benchmarks than ",
                                      shards.front().dir));
      }
      if (entry.value("binary", "") != first_entry.value("binary", "")) {
        throw MergeError(absl::StrCat(s.dir, ": measured with another ", binary, " (",
                                      entry.value("binary", "?"), ") than ", shards.front().dir,
                                      " (", first_entry.value("binary", "?"), ")"));
      }
      if (entry.contains("skipped")) continue;
      seconds += entry.value("duration_seconds", 0.0);
      const auto doc = s.benchmarks.find(binary);
      if (doc == s.benchmarks.end()) {
        throw MergeError(absl::StrCat(s.dir, ": no ", binary, ".json"));
      }
      if (first_doc == nullptr) first_doc = &doc->second;
      const nlohmann::json context = doc->second.value("context", nlohmann::json::object());
      for (nlohmann::json b : doc->second.value("benchmarks", nlohmann::json::array())) {
        const std::string name = b.value("run_name", b.value("name", ""));
        // The merged file has one context: each entry keeps its own shard's host class.
        if (context.contains("host_class")) b["host_class"] = context["host_class"];
        auto [it, inserted] = measured.try_emplace(name, std::vector<nlohmann::json>{}, s.dir);
        if (!inserted && it->second.second != s.dir) {
          throw MergeError(absl::StrCat("the benchmark ", binary, " ", name, " was measured by ",
                                        it->second.second, " and by ", s.dir));
        }
        it->second.first.push_back(std::move(b));
      }
    }
    nlohmann::json doc = first_doc != nullptr ? *first_doc : nlohmann::json::object();
    doc["benchmarks"] = nlohmann::json::array();
    for (const auto& name_json : planned) {
      const std::string name = name_json.get<std::string>();
      const auto it = measured.find(name);
      if (it == measured.end()) {
        throw MergeError(absl::StrCat("the benchmark ", binary, " ", name,
                                      " is missing from every shard"));
      }
      for (const nlohmann::json& b : it->second.first) doc["benchmarks"].push_back(b);
      measured.erase(it);
    }
    if (!measured.empty()) {
      throw MergeError(absl::StrCat(measured.begin()->second.second, ": the benchmark ", binary,
                                    " ", measured.begin()->first, " is not planned"));
    }
    if (planned.empty()) continue;
    std::vector<MatrixRecord> rows;
    try {
      rows = RecordsFromBenchmarkJson(doc, binary.substr(binary.find('_') + 1));
    } catch (const std::exception& error) {
      throw MergeError(absl::StrCat(binary, ": ", error.what()));
    }
    for (const MatrixRecord& r : rows) hosts.insert(r.Str(R::kHost));
    nlohmann::ordered_json summary = ContextSummary(doc);
    summary["duration_seconds"] = seconds;
    summary["benchmarks"] = rows.size();
    summary["planned"] = planned;
    summary["binary"] = first_entry.value("binary", "");
    // The context facts above are the first shard's; the rows name each one's host class.
    if (hosts.size() > 1) summary["host_class"] = "see the rows' host column";
    merged.binaries[binary] = summary;
    benchmarks += rows.size();
    merged.rows.insert(merged.rows.end(), rows.begin(), rows.end());
    merged.benchmarks[binary] = std::move(doc);
  }
  merged.metadata = MergedMetadata(metadata, hosts, notes);
  notes.push_back(absl::StrFormat("merged %d shards: %d benchmarks of %d binaries, %.1f s of "
                                  "measuring",
                                  count, benchmarks, merged.benchmarks.size(),
                                  merged.metadata.Float(M::kDurationSeconds)));
  return merged;
}

}  // namespace experiments::allocator_matrix
