// experiments/persistent_churn/churn.h: allocation under persistent updates, for one
// (retention, policy, N) cell.
//
// A persistent map's update copies the path from the root to the key (about log32 N nodes) and,
// once no kept version refers to the old path any more, frees it. How much a program keeps decides
// the order of those frees, so a cell builds N keys (keys 0..N-1, value i*10, updated in place),
// then makes `updates` updates from a fixed-seed stream (half overwrite an existing key, a quarter
// insert a new key, a quarter erase one) while keeping versions as its Retention says. The same
// updates on a hamt::Map in place are the baseline. Counts come from the policy's telemetry over
// the updates alone; samples of the demand every `sample_every` updates draw it against updates.
//
// Peak RSS is a property of the whole process, so each cell runs in a fresh process (the program
// executed again with --cell=<EncodeSpec(spec)>: experiments/common/cells.h).
#ifndef HAMT_ALLOC_EXPERIMENTS_PERSISTENT_CHURN_CHURN_H_
#define HAMT_ALLOC_EXPERIMENTS_PERSISTENT_CHURN_CHURN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "experiments/common/cell_results.h"
#include "experiments/common/records.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

namespace experiments::persistent_churn {

// in_place: hamt::Map updated in place (the baseline). newest: a hamt::PersistentMap whose previous
// version is dropped after each update. last_h: the newest and the history - 1 versions before it
// (frees first-in first-out). random: the newest and history - 1 older versions, each new one
// replacing a kept one at random (frees in random order).
enum class Retention { kInPlace, kNewest, kLastH, kRandom };
inline constexpr Retention kAllRetentions[] = {Retention::kInPlace, Retention::kNewest,
                                               Retention::kLastH, Retention::kRandom};
absl::string_view RetentionName(Retention retention);  // as in the schema's enum

// The update stream's seed: the same updates in every cell and process.
inline constexpr std::uint64_t kSeed = 0x2545f4914f6cdd1dull;

struct CellSpec {
  Retention retention = Retention::kNewest;
  std::string policy;  // an allocators/registry.h line
  std::uint64_t n = 0;
  std::uint64_t updates = 0;
  std::uint64_t history = 16;      // versions kept by last_h and random, the newest included
  std::uint64_t sample_every = 1;  // updates between samples
  std::uint64_t pool_slots = 0;    // lines that own a pool: capacity (growing: the first chunk)
  std::string process_malloc;      // the schema's enum value, e.g. "glibc"
};

// Versions a retention keeps at most: 1 for in_place and newest, else history.
std::uint64_t VersionsKept(const CellSpec& spec);

// The samples: update_index 0 (the built map), every sample_every updates, and the last.
using CellRecord = Record<schema::ChurnCell>;
using SampleRecord = Record<schema::ChurnSample>;
using CellResult = CellReport<schema::ChurnCell, schema::ChurnSample>;

// Runs the cell in this process. Throws std::runtime_error when the newest version reads back a
// wrong value, experiments::Interrupted on Ctrl-C, std::invalid_argument on a bad spec.
CellResult RunCell(const CellSpec& spec);

// The cell's process (experiments/common/cells.h: RunCellInChild, CellProcessMain) is named by
// this spec.

// A spec as one flag value and back ("newest,bump_pool,10000,10000,16,50,65536,glibc");
// DecodeSpec throws std::invalid_argument naming what is wrong.
std::string EncodeSpec(const CellSpec& spec);
CellSpec DecodeSpec(absl::string_view text);

// "newest/bump_pool/n=10000": the cell, in progress lines and errors; and the cell a record
// belongs to, named the same way.
std::string CellName(const CellSpec& spec);
std::string CellName(const CellRecord& cell);
std::string CellName(const SampleRecord& sample);

// The run's settings, as its metadata.config records them, and the cells they plan: one definition
// for the run and for the merge of a sharded run's shards.
struct Settings {
  std::vector<std::uint64_t> ns;
  std::uint64_t updates = 0;  // after each build; 0: as many as N
  std::vector<Retention> retentions;
  std::vector<std::string> policies;  // registry lines
  std::uint64_t history = 16;
  std::uint64_t samples = 100;  // demand samples per cell after the built map's
  std::uint64_t pool_slots = 0;
  std::string binary;  // BinaryFingerprint(): the code that measures (shards must share it)
  std::string shard;  // "I/N" (experiments/common/shards.h), or "" for all

  nlohmann::ordered_json ToJson() const;
};
// Throws SchemaError naming the setting a damaged file lacks.
Settings SettingsFromJson(const nlohmann::ordered_json& config);

// Every cell of the run, in table order (each N, each retention, each policy).
std::vector<CellSpec> PlanCells(const Settings& settings, const std::string& process_malloc);

// A cell's expected cost for sharding (shards.h): the build's inserts, the updates (a persistent
// one copying a path of about five nodes), plus a process start.
std::uint64_t CellCost(const CellSpec& spec);

using Results = CellRunResults<schema::ChurnCell, schema::ChurnSample>;
inline constexpr CellFiles kFiles = {"persistent_churn", "persistent_churn.json",
                                     "persistent_churn.csv", "persistent_churn_samples.csv"};

// The console table of the cells, with its header.
std::string FormatCells(const std::vector<CellRecord>& cells);

}  // namespace experiments::persistent_churn

#endif  // HAMT_ALLOC_EXPERIMENTS_PERSISTENT_CHURN_CHURN_H_
