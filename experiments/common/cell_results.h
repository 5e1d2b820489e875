// experiments/common/cell_results.h: the result set of an experiment that runs each cell in a
// process of its own (memory_timeline, persistent_churn): the run's metadata, one record per cell
// and the cells' samples, as one JSON file and two CSVs; and the merge of a sharded run's shards
// (shards.h) into one such set.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_CELL_RESULTS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_CELL_RESULTS_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "experiments/common/records.h"
#include "experiments/common/run_store.h"
#include "experiments/common/shards.h"
#include "nlohmann/json.hpp"

namespace experiments {

template <class CellS, class SampleS>
struct CellRunResults {
  MetadataRecord metadata;
  std::vector<Record<CellS>> cells;  // in plan order
  std::vector<Record<SampleS>> samples;  // each cell's, in the cells' order
};

// The files of one experiment's result set (experiments/schema/schema.json "files").
struct CellFiles {
  const char* stem;         // the run store's (run_store.h): where the set is published
  const char* json;         // {"metadata", "cells", "samples"}
  const char* cells_csv;    // the cells
  const char* samples_csv;  // the samples
};

template <class CellS, class SampleS>
nlohmann::ordered_json ToJson(const CellRunResults<CellS, SampleS>& results) {
  nlohmann::ordered_json json;
  json["metadata"] = results.metadata.Json();
  json["cells"] = JsonArray(results.cells);
  json["samples"] = JsonArray(results.samples);
  return json;
}

// Throws SchemaError naming what a damaged file lacks.
template <class CellS, class SampleS>
CellRunResults<CellS, SampleS> CellRunFromJson(const nlohmann::ordered_json& json) {
  if (!json.is_object() || !json.contains("metadata") || !json.contains("cells") ||
      !json.contains("samples")) {
    throw SchemaError("expected an object with metadata, cells and samples");
  }
  CellRunResults<CellS, SampleS> results;
  results.metadata = MetadataRecord::FromJson(json["metadata"], "metadata");
  results.cells = FromJsonArray<CellS>(json["cells"], "cells");
  results.samples = FromJsonArray<SampleS>(json["samples"], "samples");
  return results;
}

// Writes the three files into the store's run and publishes it.
template <class CellS, class SampleS>
void PublishCellRun(RunStore& store, const CellFiles& files,
                    const CellRunResults<CellS, SampleS>& results) {
  store.Write(files.json, ToJson(results).dump(1) + "\n");
  store.Write(files.cells_csv, CsvDocument(results.cells));
  store.Write(files.samples_csv, CsvDocument(results.samples));
  store.Publish();
}

// Merges every shard of one sharded run (each with the directory it was read from): CheckShardSet,
// then every cell of `planned` (the run's cell names, in plan order) exactly once, with its
// samples; `name_of(record)` names a cell's record and a sample's as the plan names the cell.
// Throws MergeError on a cell measured twice, missing, or not in the plan, and on shards that ran
// under different process mallocs. Appends to `notes` what a reader must know.
template <class CellS, class SampleS, class NameOf>
CellRunResults<CellS, SampleS> MergeCellShards(
    const std::vector<std::pair<std::string, CellRunResults<CellS, SampleS>>>& shards,
    const std::vector<std::string>& planned, NameOf name_of, std::vector<std::string>& notes) {
  std::vector<ShardMetadata> metadata;
  for (const auto& [dir, r] : shards) metadata.push_back({dir, r.metadata});
  const int count = CheckShardSet(metadata, {});
  struct Measured {
    const Record<CellS>* cell;
    std::string dir;
    std::vector<const Record<SampleS>*> samples;
  };
  std::map<std::string, Measured> measured;
  std::map<std::string, std::string> mallocs;  // process malloc -> a directory with it
  std::set<std::string> hosts;
  for (const auto& [dir, r] : shards) {
    hosts.insert(r.metadata.Str(schema::RunMetadata::Field::kHost));
    for (const Record<CellS>& cell : r.cells) {
      hosts.insert(cell.Str(CellS::Field::kHost));
      mallocs.emplace(cell.Str(CellS::Field::kProcessMalloc), dir);
      const std::string name = name_of(cell);
      if (const auto [it, inserted] = measured.emplace(name, Measured{&cell, dir, {}});
          !inserted) {
        throw MergeError(absl::StrCat("the cell ", name, " was measured by ", it->second.dir,
                                      " and by ", dir));
      }
    }
    for (const Record<SampleS>& sample : r.samples) {
      const auto it = measured.find(name_of(sample));
      if (it == measured.end() || it->second.dir != dir) {
        throw MergeError(absl::StrCat(dir, ": a sample of ", name_of(sample),
                                      ", a cell this shard did not measure"));
      }
      it->second.samples.push_back(&sample);
    }
  }
  if (mallocs.size() > 1) {
    std::vector<std::string> where;
    for (const auto& [malloc, dir] : mallocs) where.push_back(absl::StrCat(malloc, " in ", dir));
    throw MergeError(absl::StrCat("the shards ran under different process mallocs (",
                                  absl::StrJoin(where, ", "), "): one binary for every shard"));
  }
  CellRunResults<CellS, SampleS> merged;
  for (const std::string& name : planned) {
    const auto it = measured.find(name);
    if (it == measured.end()) {
      throw MergeError(absl::StrCat("the cell ", name, " is missing from every shard"));
    }
    merged.cells.push_back(*it->second.cell);
    for (const Record<SampleS>* s : it->second.samples) merged.samples.push_back(*s);
    measured.erase(it);
  }
  if (!measured.empty()) {
    throw MergeError(absl::StrCat(measured.begin()->second.dir, ": the cell ",
                                  measured.begin()->first, " is not in the plan"));
  }
  merged.metadata = MergedMetadata(metadata, hosts, notes);
  notes.push_back(absl::StrFormat(
      "merged %d shards: %d cells, %d samples, %.1f s of measuring", count, merged.cells.size(),
      merged.samples.size(), merged.metadata.Float(schema::RunMetadata::Field::kDurationSeconds)));
  return merged;
}

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_CELL_RESULTS_H_
