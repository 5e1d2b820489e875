// bazel run //experiments:demand_model -- --n=LIST [--pools=LIST] [--headroom=PCT] [--hash=...]
//                                          [--layout=key=value,...]
//
// Predicts, without building a map, what a build of N inserts demands of a bump pool and of a slot
// recycler (model/demand_model.h): slots and slots per entry, live bytes per entry, allocations,
// and for each pool of --pools the N at which it runs out and the share of allocations that fall
// back; plus the pool to reserve for N with --headroom. Prints a table and writes demand_model.csv
// and .json (experiments/RESULTS_SCHEMA.md) through the run store.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"
#include "experiments/common/records.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/run_store.h"
#include "experiments/schema/schema.h"
#include "model/demand_model.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, n, "1K,10K,100K,1M,10M,100M,1000M",
          "map sizes N, comma-separated (K and M suffixes allowed)");
ABSL_FLAG(std::string, pools, "65536,4194304",
          "pool capacities in 8-byte slots; 0 alone: unbounded pools only");
ABSL_FLAG(std::string, policies, "bump_pool,slot_recycler", "bump_pool, slot_recycler");
ABSL_FLAG(double, headroom, 20.0, "headroom in percent for the recommended pool sizes");
ABSL_FLAG(std::string, hash, "uniform",
          "uniform (any good hash; the experiments' StableHash) or identity (std::hash<int64_t> "
          "with the keys 0..N-1 in order)");
ABSL_FLAG(std::string, layout, "",
          "node layout, key=value,...: bits_per_level, hash_bits, header_bytes, child_bytes, "
          "entry_bytes, slot_bytes (empty: hamt::Map<int64_t, int64_t> over 8-byte slots)");
ABSL_FLAG(std::string, out, "results/demand_model",
          "output directory (relative paths are under the workspace); see RESULTS_SCHEMA.md");
ABSL_FLAG(bool, wait_for_lock, false,
          "when another run is using --out, wait for it instead of failing at once");

namespace {

namespace fs = std::filesystem;
using experiments::FlagError;
using experiments::FormatCount;
using PredictionRecord = experiments::Record<experiments::schema::ModelPrediction>;

constexpr const char* kProgram = "demand_model";
constexpr const char* kUsage =
    "The trie's allocation demand, predicted without building it: bazel run "
    "//experiments:demand_model -- --n=1M,10M [--pools=...]";

model::Layout ParseLayout(const std::string& text) {
  model::Layout layout;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::vector<std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    std::uint64_t value = 0;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) {
      FlagError("layout", absl::StrCat("expected key=number, got ", experiments::QuoteValue(item)));
    }
    const std::string key(absl::StripAsciiWhitespace(kv[0]));
    if (key == "bits_per_level") layout.bits_per_level = static_cast<unsigned>(std::min<std::uint64_t>(value, 64));
    else if (key == "hash_bits") layout.hash_bits = static_cast<unsigned>(std::min<std::uint64_t>(value, 65));
    else if (key == "header_bytes") layout.header_bytes = value;
    else if (key == "child_bytes") layout.child_bytes = value;
    else if (key == "entry_bytes") layout.entry_bytes = value;
    else if (key == "slot_bytes") layout.slot_bytes = value;
    else FlagError("layout", absl::StrCat("unknown key ", experiments::QuoteValue(key)));
  }
  if (const std::string problem = layout.Check(); !problem.empty()) FlagError("layout", problem);
  return layout;
}

std::vector<model::Policy> ParsePolicies(const std::string& text) {
  return experiments::ParseNameList(
      "policies", text, std::span<const model::Policy>(model::kAllPolicies),
      [](model::Policy p) {
        const std::string_view name = model::PolicyName(p);
        return absl::string_view(name.data(), name.size());
      },
      "policy");
}

template <class T>
std::vector<T> Distinct(std::vector<T> values) {
  std::vector<T> out;
  for (const T& v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

PredictionRecord Predict(const model::DemandModel& m, model::Policy policy, std::uint64_t n,
                         std::uint64_t pool, double headroom) {
  const model::BuildCost build = m.Build(n);
  std::optional<model::PoolPrediction> p;
  if (pool > 0) p = m.Pool(policy, pool, n);
  const double demand = p ? p->slots_demanded : m.DemandSlots(policy, n);
  const double nn = static_cast<double>(n);
  using F = experiments::schema::ModelPrediction::Field;
  return experiments::RecordFrom<experiments::schema::ModelPrediction>(
      [&](F field) -> experiments::Value {
        switch (field) {  // no default: a new schema field must be written here
          case F::kPolicy: return std::string(model::PolicyName(policy));
          case F::kN: return static_cast<std::int64_t>(n);
          case F::kPoolSlots: return static_cast<std::int64_t>(pool);
          case F::kSlotsDemanded:
            return std::isfinite(demand) ? experiments::Value(demand) : experiments::Value();
          case F::kSlotsPerEntry:
            return std::isfinite(demand) ? experiments::Value(demand / nn) : experiments::Value();
          case F::kLiveBytesPerEntry: return build.live_bytes / nn;
          case F::kAllocations: return p ? p->allocations : build.allocations;
          case F::kFallbackPct:
            if (!p || !std::isfinite(p->fallback_share)) return std::monostate{};
            return 100.0 * p->fallback_share;
          case F::kExhaustionN:
            if (!p || !std::isfinite(p->exhaustion_n)) return std::monostate{};
            return p->exhaustion_n;
          case F::kHeadroomPct: return headroom;
          case F::kRecommendedSlots:
            return static_cast<std::int64_t>(m.RecommendedSlots(policy, n, headroom));
        }
        throw experiments::SchemaError("model_prediction: unknown field");
      });
}

int Main(int argc, char** argv) {
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  const std::vector<std::uint64_t> ns =
      Distinct(experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 1'000'000'000'000));
  std::vector<std::uint64_t> pools = Distinct(
      experiments::ParseCountList("pools", absl::GetFlag(FLAGS_pools), 0, std::uint64_t{1} << 50));
  const std::vector<model::Policy> policies = ParsePolicies(absl::GetFlag(FLAGS_policies));
  const double headroom = absl::GetFlag(FLAGS_headroom);
  if (!(headroom >= 0 && headroom <= 1000)) {
    FlagError("headroom", "must be a number in [0, 1000] percent");
  }
  const std::string hash_name = absl::GetFlag(FLAGS_hash);
  if (hash_name != "uniform" && hash_name != "identity") {
    FlagError("hash", absl::StrCat("expected uniform or identity, got ",
                                   experiments::QuoteValue(hash_name)));
  }
  const model::HashAssumption hash =
      hash_name == "identity" ? model::HashAssumption::kIdentity : model::HashAssumption::kUniform;
  const model::Layout layout = ParseLayout(absl::GetFlag(FLAGS_layout));
  fs::path out_dir;
  try {
    out_dir = experiments::PrepareOutputDirectory(absl::GetFlag(FLAGS_out));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  std::optional<experiments::RunStore> store;
  try {
    store.emplace(experiments::RunStore::Open(
        out_dir, kProgram, absl::GetFlag(FLAGS_wait_for_lock),
        [](const std::string& note) { std::cerr << kProgram << ": note: " << note << "\n"; }));
  } catch (const experiments::OutputError& error) {
    FlagError("out", error.what());
  }
  experiments::InstallInterruptHandler();

  const auto start = std::chrono::steady_clock::now();
  const model::DemandModel m(layout, hash);
  if (std::find(pools.begin(), pools.end(), 0) == pools.end()) pools.insert(pools.begin(), 0);
  std::vector<PredictionRecord> predictions;
  std::vector<std::string> warnings;
  for (std::uint64_t n : ns) {
    for (const std::string& w : m.Warnings(n)) {
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    }
    for (model::Policy policy : policies) {
      for (std::uint64_t pool : pools) {
        experiments::ThrowIfInterrupted();
        try {
          predictions.push_back(Predict(m, policy, n, pool, headroom));
        } catch (const std::invalid_argument& error) {  // an N this layout and hash cannot hold
          FlagError("n", absl::StrCat(experiments::FormatCount(static_cast<double>(n)), ": ",
                                      error.what()));
        }
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const nlohmann::ordered_json config = {
      {"n", absl::StrJoin(ns, ",")},
      {"pools", absl::StrJoin(pools, ",")},
      {"policies", absl::GetFlag(FLAGS_policies)},
      {"headroom", headroom},
      {"hash", hash_name},
      {"layout", {{"bits_per_level", layout.bits_per_level}, {"hash_bits", layout.hash_bits},
                  {"header_bytes", layout.header_bytes}, {"child_bytes", layout.child_bytes},
                  {"entry_bytes", layout.entry_bytes}, {"slot_bytes", layout.slot_bytes}}}};
  const std::string run_id = experiments::RunStore::NewRunId();
  auto metadata = experiments::NewRunMetadata(kProgram, hash_name, run_id, argc, argv, config);
  using M = experiments::schema::RunMetadata::Field;
  metadata.Set(M::kComplete, true).Set(M::kDurationSeconds, seconds);
  store->StartNew(run_id, [](const std::string&) {});
  nlohmann::ordered_json json;
  json["metadata"] = metadata.Json();
  json["predictions"] = experiments::JsonArray(predictions);
  json["warnings"] = warnings;
  store->Write("demand_model.json", json.dump(2) + "\n");
  store->Write("demand_model.csv", experiments::CsvDocument(predictions));
  store->Publish();

  using F = experiments::schema::ModelPrediction::Field;
  constexpr const char* kFormat = "%-13s %14s %14s | %14s %10s %9s %14s | %8s %14s | %16s\n";
  std::cout << absl::StrFormat(kFormat, "policy", "N", "pool", "slots", "slots/key", "bytes/key",
                               "allocations", "fallback", "exhausted at N", "reserve (slots)");
  std::cout << std::string(150, '-') << "\n";
  for (const PredictionRecord& r : predictions) {
    std::cout << absl::StrFormat(
        kFormat, r.Str(F::kPolicy), FormatCount(r.Float(F::kN)),
        r.Int(F::kPoolSlots) == 0 ? "unbounded" : FormatCount(r.Float(F::kPoolSlots)),
        r.IsNull(F::kSlotsDemanded) ? "-" : FormatCount(r.Float(F::kSlotsDemanded)),
        r.IsNull(F::kSlotsPerEntry) ? "-" : absl::StrFormat("%.2f", r.Float(F::kSlotsPerEntry)),
        absl::StrFormat("%.2f", r.Float(F::kLiveBytesPerEntry)),
        FormatCount(r.Float(F::kAllocations)),
        r.IsNull(F::kFallbackPct) ? "-" : absl::StrFormat("%.2f%%", r.Float(F::kFallbackPct)),
        r.IsNull(F::kExhaustionN) ? "-" : FormatCount(r.Float(F::kExhaustionN)),
        r.Int(F::kPoolSlots) == 0 ? FormatCount(r.Float(F::kRecommendedSlots)) : "");
  }
  std::cout << absl::StrFormat(
      "Expectations over tries (%s hash); reserve = expected demand x %.2f. Model: "
      "model/demand_model.h.\n",
      hash_name, 1 + headroom / 100);
  for (const std::string& w : warnings) std::cout << "warning: " << w << "\n";
  std::cout << absl::StrFormat("Wrote %s and %s (%.2f s).\n",
                               (out_dir / "demand_model.csv").string(),
                               (out_dir / "demand_model.json").string(), seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::GuardedMain([&] { return Main(argc, argv); });
}
