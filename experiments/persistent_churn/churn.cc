#include "experiments/persistent_churn/churn.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "allocators/registry.h"
#include "allocators/stats.h"
#include "experiments/common/console.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/process_memory.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/stable_hash.h"
#include "experiments/common/study_map.h"
#include "experiments/common/workload_keys.h"
#include "model/demand_model.h"

namespace experiments::persistent_churn {
namespace {

using Clock = std::chrono::steady_clock;
using CF = schema::ChurnCell::Field;
using SF = schema::ChurnSample::Field;

// Updates between interrupt checks.
constexpr std::uint64_t kChunk = 1 << 14;

struct Update {
  bool erase = false;
  std::int64_t key = 0;
  std::int64_t value = 0;
};

// The update stream: the same for every retention and policy. The live keys start as 0..n-1; each
// update overwrites a live key (half), inserts the next new key (a quarter) or erases a live key
// (a quarter), so the map stays near N keys.
class UpdateStream {
 public:
  explicit UpdateStream(std::uint64_t n)
      : rng_(kSeed), live_(n), next_key_(static_cast<std::int64_t>(n)) {
    std::iota(live_.begin(), live_.end(), std::int64_t{0});
  }

  Update Next(std::uint64_t index) {
    const std::uint64_t r = rng_();
    const unsigned kind = r & 3;
    if (live_.empty() || kind == 2) {
      const std::int64_t key = next_key_++;
      live_.push_back(key);
      return {false, key, StudyValue(key)};
    }
    const std::size_t i = static_cast<std::size_t>((r >> 2) % live_.size());
    const std::int64_t key = live_[i];
    if (kind == 3) {
      live_[i] = live_.back();
      live_.pop_back();
      return {true, key, 0};
    }
    return {false, key, StudyValue(key) + static_cast<std::int64_t>(index) + 1};
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::int64_t> live_;
  std::int64_t next_key_;
};

// What the cell reads, kept as plain numbers while it runs (making a record allocates, and the
// process malloc's traffic is part of what is measured).
struct RawSample {
  std::uint64_t update_index = 0;
  std::uint64_t bytes_allocated = 0;  // since the build
  std::uint64_t slots_demanded = 0;   // since the build
  std::uint64_t live_bytes = 0;
  std::uint64_t fallbacks = 0;  // since the build
};

struct Raw {
  std::vector<RawSample> samples;  // sized before the cell starts
  std::size_t sample_count = 0;
  allocators::AllocStats start;  // after the build
  allocators::AllocStats end;    // after the updates
  std::optional<std::uint64_t> updates_to_exhaust;
  double update_seconds = 0;
  std::uint64_t versions_end = 0;
  long peak_rss_kb = 0;  // read right after the updates, before the read-back check's own memory
};

// The newest version must hold exactly what the update stream, replayed into a std::unordered_map,
// says. Throws std::runtime_error otherwise.
template <class MapT>
void CheckNewest(const CellSpec& spec, const MapT& map) {
  std::unordered_map<std::int64_t, std::int64_t> model;
  for (std::int64_t key = 0; key < static_cast<std::int64_t>(spec.n); ++key) {
    model[key] = StudyValue(key);
  }
  UpdateStream stream(spec.n);
  for (std::uint64_t u = 0; u < spec.updates; ++u) {
    if ((u + 1) % kChunk == 0) ThrowIfInterrupted();
    const Update update = stream.Next(u);
    if (update.erase) {
      model.erase(update.key);
    } else {
      model[update.key] = update.value;
    }
  }
  if (map.size() != model.size()) {
    throw std::runtime_error(absl::StrCat("the newest version has ", map.size(), " keys, expected ",
                                          model.size()));
  }
  std::uint64_t checked = 0;
  for (const auto& [key, value] : model) {
    if (++checked % kChunk == 0) ThrowIfInterrupted();
    const std::int64_t* found = map.find(key);
    if (found == nullptr || *found != value) {
      throw std::runtime_error(absl::StrCat("wrong value for key ", key));
    }
  }
}

// The update loop shared by both maps: `apply` makes one update (and keeps versions as the
// retention says), `stats` reads the policy.
template <class Apply, class Stats>
void DriveUpdates(const CellSpec& spec, bool owns_pool, Apply apply, Stats stats, Raw& raw) {
  raw.start = stats();
  auto sample = [&](std::uint64_t u) {
    const allocators::AllocStats now = stats();
    raw.samples.at(raw.sample_count++) = {u, now.bytes_allocated - raw.start.bytes_allocated,
                                          now.slots_demanded - raw.start.slots_demanded,
                                          now.live_bytes,
                                          now.fallback_allocations -
                                              raw.start.fallback_allocations};
  };
  sample(0);
  UpdateStream stream(spec.n);
  const auto start = Clock::now();
  for (std::uint64_t u = 0; u < spec.updates; ++u) {
    apply(stream.Next(u), u);
    const std::uint64_t done = u + 1;
    if (owns_pool && !raw.updates_to_exhaust &&
        stats().slots_demanded - raw.start.slots_demanded > spec.pool_slots) {
      raw.updates_to_exhaust = done - 1;  // the updates served before this one went past
    }
    if (done % spec.sample_every == 0 || done == spec.updates) sample(done);
    if (done % kChunk == 0) ThrowIfInterrupted();
  }
  raw.update_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  raw.end = stats();
  raw.peak_rss_kb = PeakRssKb();
}

template <class Alloc>
void RunInPlace(const CellSpec& spec, bool owns_pool, Alloc alloc, Raw& raw) {
  StudyMap<Alloc> map(StableHash{}, std::equal_to<std::int64_t>(), std::move(alloc));
  for (std::int64_t key = 0; key < static_cast<std::int64_t>(spec.n); ++key) {
    map.insert_or_assign(key, StudyValue(key));
    if ((key + 1) % kChunk == 0) ThrowIfInterrupted();
  }
  DriveUpdates(
      spec, owns_pool,
      [&](const Update& update, std::uint64_t) {
        if (update.erase) {
          map.erase(update.key);
        } else {
          map.insert_or_assign(update.key, update.value);
        }
      },
      [&] { return map.allocator().stats(); }, raw);
  raw.versions_end = 1;
  CheckNewest(spec, map);
}

template <class Alloc>
void RunPersistent(const CellSpec& spec, bool owns_pool, Alloc alloc, Raw& raw) {
  using Map = PersistentStudyMap<Alloc>;
  Map current(StableHash{}, std::equal_to<std::int64_t>(), std::move(alloc));
  // The build updates the one version in place (it is its only owner), as hamt::Map would.
  for (std::int64_t key = 0; key < static_cast<std::int64_t>(spec.n); ++key) {
    current = std::move(current).set(key, StudyValue(key));
    if ((key + 1) % kChunk == 0) ThrowIfInterrupted();
  }
  const std::size_t older = static_cast<std::size_t>(VersionsKept(spec) - 1);
  std::vector<Map> kept;  // the older versions kept (last_h: a ring; random: random slots)
  kept.reserve(older);
  std::mt19937_64 pick(kSeed ^ 0x5bd1e995);
  DriveUpdates(
      spec, owns_pool,
      [&](const Update& update, std::uint64_t u) {
        // The update copies the key's path out of the previous version, which is then kept or
        // dropped: dropping the only reference to a path frees it.
        Map previous = std::move(current);
        current = update.erase ? previous.erase(update.key) : previous.set(update.key, update.value);
        if (older == 0) return;  // newest: `previous` goes here
        if (kept.size() < older) {
          kept.push_back(std::move(previous));
        } else if (spec.retention == Retention::kLastH) {
          kept[u % older] = std::move(previous);  // the oldest kept version goes
        } else {
          kept[pick() % older] = std::move(previous);  // a random kept version goes
        }
      },
      [&] { return current.allocator().stats(); }, raw);
  raw.versions_end = 1 + kept.size();
  CheckNewest(spec, current);
}

CellResult ToRecords(const CellSpec& spec, const Raw& raw, bool owns_pool, double seconds) {
  CellResult result;
  auto common = [&](auto field) -> std::optional<Value> {
    using F = decltype(field);
    if (field == F::kProcessMalloc) return Value(spec.process_malloc);
    if (field == F::kRetention) return Value(std::string(RetentionName(spec.retention)));
    if (field == F::kPolicy) return Value(spec.policy);
    if (field == F::kN) return Value(static_cast<std::int64_t>(spec.n));
    return std::nullopt;
  };
  for (const RawSample& s : raw.samples) {
    result.samples.push_back(RecordFrom<schema::ChurnSample>([&](SF field) -> Value {
      switch (field) {
        case SF::kProcessMalloc:
        case SF::kRetention:
        case SF::kPolicy:
        case SF::kN: return *common(field);
        case SF::kUpdateIndex: return static_cast<std::int64_t>(s.update_index);
        case SF::kAllocatedSlots:
          return static_cast<std::int64_t>(s.bytes_allocated / allocators::kSlotBytes);
        case SF::kPoolSlotsDemanded:
          return owns_pool ? Value(static_cast<std::int64_t>(s.slots_demanded)) : Value();
        case SF::kLiveBytes: return static_cast<std::int64_t>(s.live_bytes);
        case SF::kFallbackAllocations: return static_cast<std::int64_t>(s.fallbacks);
      }
      return {};
    }));
  }
  const allocators::AllocStats& a = raw.start;
  const allocators::AllocStats& b = raw.end;
  const double updates = static_cast<double>(spec.updates);
  const double bytes_per_update = static_cast<double>(b.bytes_allocated - a.bytes_allocated) /
                                  updates;
  result.cell = RecordFrom<schema::ChurnCell>([&](CF field) -> Value {
    switch (field) {
      case CF::kProcessMalloc:
      case CF::kRetention:
      case CF::kPolicy:
      case CF::kN: return *common(field);
      case CF::kUpdates: return static_cast<std::int64_t>(spec.updates);
      case CF::kHistory: return static_cast<std::int64_t>(VersionsKept(spec));
      case CF::kSeed: return static_cast<std::int64_t>(kSeed);
      case CF::kPoolSlots:
        return owns_pool ? Value(static_cast<std::int64_t>(spec.pool_slots)) : Value();
      case CF::kAllocationsPerUpdate:
        return static_cast<double>(b.allocations - a.allocations) / updates;
      case CF::kModelPathNodes: return model::ExpectedPathNodes(model::Layout{}, spec.n);
      case CF::kFreesPerUpdate:
        return static_cast<double>(b.deallocations - a.deallocations) / updates;
      case CF::kBytesPerUpdate: return bytes_per_update;
      case CF::kSlotsPerUpdate: return bytes_per_update / allocators::kSlotBytes;
      case CF::kUpdateSlotsDemanded:
        return owns_pool ? Value(static_cast<std::int64_t>(b.slots_demanded - a.slots_demanded))
                         : Value();
      case CF::kUpdatesToExhaust:
        // A recycler serves updates from the blocks they free: its demand is the answer.
        return raw.updates_to_exhaust && b.reused_allocations == 0
                   ? Value(static_cast<std::int64_t>(*raw.updates_to_exhaust))
                   : Value();
      case CF::kNsPerUpdate: return raw.update_seconds * 1e9 / updates;
      case CF::kFallbackAllocations:
        return static_cast<std::int64_t>(b.fallback_allocations - a.fallback_allocations);
      case CF::kLiveBytesEnd: return static_cast<std::int64_t>(b.live_bytes);
      case CF::kPeakLiveBytes: return static_cast<std::int64_t>(b.peak_live_bytes);
      case CF::kPeakRssKb: return static_cast<std::int64_t>(raw.peak_rss_kb);
      case CF::kVersionsEnd: return static_cast<std::int64_t>(raw.versions_end);
      case CF::kSeconds: return seconds;
      case CF::kHost: return HostClass();
    }
    return {};
  });
  return result;
}

void Validate(const CellSpec& spec) {
  if (spec.n == 0) throw std::invalid_argument("n must be at least 1");
  if (spec.updates == 0) throw std::invalid_argument("updates must be at least 1");
  if (spec.history == 0) throw std::invalid_argument("history must be at least 1");
  if (spec.sample_every == 0) throw std::invalid_argument("sample_every must be at least 1");
  if (allocators::FindPolicy(spec.policy) == nullptr) {
    throw std::invalid_argument("unknown policy '" + spec.policy + "'");
  }
  const schema::FieldSpec& malloc_field =
      Record<schema::ChurnCell>::Spec(CF::kProcessMalloc);
  if (std::find(malloc_field.values.begin(), malloc_field.values.end(), spec.process_malloc) ==
      malloc_field.values.end()) {
    throw std::invalid_argument("unknown process malloc '" + spec.process_malloc + "'");
  }
}

}  // namespace

absl::string_view RetentionName(Retention retention) {
  switch (retention) {
    case Retention::kInPlace: return "in_place";
    case Retention::kNewest: return "newest";
    case Retention::kLastH: return "last_h";
    case Retention::kRandom: return "random";
  }
  return "?";
}

std::uint64_t VersionsKept(const CellSpec& spec) {
  return spec.retention == Retention::kLastH || spec.retention == Retention::kRandom
             ? spec.history
             : 1;
}

CellResult RunCell(const CellSpec& spec) {
  Validate(spec);
  const allocators::PolicyInfo* info = allocators::FindPolicy(spec.policy);
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = spec.pool_slots, .quiet = true};
  Raw raw;
  raw.samples.resize(spec.updates / spec.sample_every + 2);
  const auto start = Clock::now();
  allocators::WithPolicy(spec.policy, options, [&](auto policy) {
    if (spec.retention == Retention::kInPlace) {
      RunInPlace(spec, info->owns_pool, std::move(policy), raw);
    } else {
      RunPersistent(spec, info->owns_pool, std::move(policy), raw);
    }
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  raw.samples.resize(raw.sample_count);
  return ToRecords(spec, raw, info->owns_pool, seconds);
}

std::string EncodeSpec(const CellSpec& spec) {
  return absl::StrCat(RetentionName(spec.retention), ",", spec.policy, ",", spec.n, ",",
                      spec.updates, ",", spec.history, ",", spec.sample_every, ",",
                      spec.pool_slots, ",", spec.process_malloc);
}

CellSpec DecodeSpec(absl::string_view text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ',');
  if (parts.size() != 8) {
    throw std::invalid_argument(
        "expected retention,policy,n,updates,history,sample_every,pool_slots,malloc");
  }
  CellSpec spec;
  bool known = false;
  for (Retention r : kAllRetentions) {
    if (RetentionName(r) == parts[0]) {
      spec.retention = r;
      known = true;
    }
  }
  if (!known) throw std::invalid_argument("unknown retention '" + parts[0] + "'");
  spec.policy = parts[1];
  if (!absl::SimpleAtoi(parts[2], &spec.n) || !absl::SimpleAtoi(parts[3], &spec.updates) ||
      !absl::SimpleAtoi(parts[4], &spec.history) ||
      !absl::SimpleAtoi(parts[5], &spec.sample_every) ||
      !absl::SimpleAtoi(parts[6], &spec.pool_slots)) {
    throw std::invalid_argument(
        "n, updates, history, sample_every and pool_slots must be whole numbers");
  }
  spec.process_malloc = parts[7];
  Validate(spec);
  return spec;
}

namespace {
std::string NameOf(absl::string_view retention, absl::string_view policy, std::int64_t n) {
  return absl::StrCat(retention, "/", policy, "/n=", n);
}
}  // namespace

std::string CellName(const CellSpec& spec) {
  return NameOf(RetentionName(spec.retention), spec.policy, static_cast<std::int64_t>(spec.n));
}
std::string CellName(const CellRecord& cell) {
  return NameOf(cell.Str(CF::kRetention), cell.Str(CF::kPolicy), cell.Int(CF::kN));
}
std::string CellName(const SampleRecord& sample) {
  return NameOf(sample.Str(SF::kRetention), sample.Str(SF::kPolicy), sample.Int(SF::kN));
}

nlohmann::ordered_json Settings::ToJson() const {
  std::vector<absl::string_view> names;
  for (Retention r : retentions) names.push_back(RetentionName(r));
  return {{"n", absl::StrJoin(ns, ",")},
          {"updates", updates},
          {"policies", absl::StrJoin(policies, ",")},
          {"retentions", absl::StrJoin(names, ",")},
          {"history", history},
          {"samples", samples},
          {"pool_slots", pool_slots},
          {"binary", binary},
          {"shard", shard}};
}

Settings SettingsFromJson(const nlohmann::ordered_json& config) {
  const ConfigReader read(config);
  Settings settings;
  settings.ns = read.Counts("n");
  settings.updates = read.Count("updates");
  settings.policies = read.Names("policies");
  settings.retentions = read.Enums<Retention>("retentions", kAllRetentions, RetentionName);
  settings.history = read.Count("history");
  settings.samples = read.Count("samples");
  if (settings.samples == 0) throw SchemaError("config.samples: 0");
  settings.pool_slots = read.Count("pool_slots");
  settings.binary = read.Str("binary");
  settings.shard = read.Str("shard");
  return settings;
}

std::vector<CellSpec> PlanCells(const Settings& settings, const std::string& process_malloc) {
  std::vector<CellSpec> cells;
  for (std::uint64_t n : settings.ns) {
    const std::uint64_t updates = settings.updates == 0 ? n : settings.updates;
    for (Retention retention : settings.retentions) {
      for (const std::string& policy : settings.policies) {
        cells.push_back({.retention = retention, .policy = policy, .n = n, .updates = updates,
                         .history = settings.history,
                         .sample_every = std::max<std::uint64_t>(
                             1, (updates + settings.samples - 1) / settings.samples),
                         .pool_slots = settings.pool_slots, .process_malloc = process_malloc});
      }
    }
  }
  return cells;
}

std::uint64_t CellCost(const CellSpec& spec) {
  constexpr std::uint64_t kProcessStart = 50'000;  // about the operations of a process's start
  const std::uint64_t per_update = spec.retention == Retention::kInPlace ? 1 : 5;
  return spec.n + spec.updates * per_update + kProcessStart;
}

std::string FormatCells(const std::vector<CellRecord>& cells) {
  auto cell = [](const CellRecord& r, CF field, double scale = 1) {
    return r.IsNull(field) ? std::string("-") : FormatCount(r.Float(field) * scale);
  };
  constexpr const char* kFormat = "%-9s %-17s %9s | %9s %9s %9s | %9s %10s %9s | %10s %10s\n";
  std::string out = absl::StrFormat(kFormat, "retention", "policy", "N", "allocs/u", "frees/u",
                                    "slots/u", "ns/u", "u->exhaust", "fallbacks", "live KiB",
                                    "peak RSS MiB");
  out += std::string(130, '-') + "\n";
  for (const CellRecord& r : cells) {
    out += absl::StrFormat(
        kFormat, r.Str(CF::kRetention), r.Str(CF::kPolicy), FormatCount(r.Float(CF::kN)),
        absl::StrFormat("%.2f", r.Float(CF::kAllocationsPerUpdate)),
        absl::StrFormat("%.2f", r.Float(CF::kFreesPerUpdate)),
        absl::StrFormat("%.1f", r.Float(CF::kSlotsPerUpdate)),
        absl::StrFormat("%.0f", r.Float(CF::kNsPerUpdate)), cell(r, CF::kUpdatesToExhaust),
        cell(r, CF::kFallbackAllocations), cell(r, CF::kLiveBytesEnd, 1.0 / 1024),
        absl::StrFormat("%.1f", r.Float(CF::kPeakRssKb) / 1024));
  }
  return out;
}

}  // namespace experiments::persistent_churn
