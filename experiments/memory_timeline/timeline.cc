#include "experiments/memory_timeline/timeline.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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
#include "hamt/hamt.h"
#include "nlohmann/json.hpp"

namespace experiments::memory_timeline {
namespace {

using Clock = std::chrono::steady_clock;
using SF = schema::TimelineSample::Field;
using CF = schema::TimelineCell::Field;

// Operations between interrupt checks.
constexpr std::uint64_t kChunk = 1 << 16;

// What one sample reads, kept as plain numbers while the workload runs: making a record allocates,
// and the process allocator's traffic is part of what is measured.
struct RawSample {
  std::uint64_t op_index = 0;
  std::uint64_t map_size = 0;
  allocators::AllocStats stats;
  std::int64_t rss_kb = 0;
};

struct Raw {
  std::vector<RawSample> samples;  // sized and written before the baseline: see RunCell
  std::size_t sample_count = 0;
  allocators::AllocStats end;
  std::optional<std::uint64_t> first_fallback_op;
  std::int64_t rss_start_kb = 0;
  std::int64_t rss_end_kb = 0;
  std::int64_t rss_after_teardown_kb = 0;
  std::int64_t minor_faults = 0;
  double seconds = 0;
};

// Runs the workload's operations on `map` through `insert` and `erase` (which differ between
// hamt::Map and hamt::PersistentMap), sampling as it goes, then checks the map's contents.
template <class MapT, class Insert, class Erase>
void Drive(const CellSpec& spec, MapT& map, Insert insert, Erase erase, Raw& raw) {
  const std::uint64_t total = Operations(spec.workload, spec.n);
  std::uint64_t op = 0;
  auto sample = [&] {
    raw.samples.at(raw.sample_count++) = {op, map.size(), map.allocator().stats(),
                                          AnonResidentKb()};
  };
  auto done = [&] {
    ++op;
    if (!raw.first_fallback_op && map.allocator().stats().fallback_allocations > 0) {
      raw.first_fallback_op = op;
    }
    if (op % spec.sample_every == 0 || op == total) sample();
    if (op % kChunk == 0) ThrowIfInterrupted();
  };
  sample();
  const auto n = static_cast<std::int64_t>(spec.n);
  for (std::int64_t key = 0; key < n; ++key) {
    insert(key);
    done();
  }
  std::int64_t oldest = 0;
  if (spec.workload != Workload::kBuild) {
    for (; oldest < n; ++oldest) {
      erase(oldest);
      done();
      insert(n + oldest);
      done();
    }
  }
  // The map must hold exactly keys oldest..oldest+n-1, each with its value.
  if (map.size() != spec.n) {
    throw std::runtime_error(absl::StrCat("map size ", map.size(), ", expected ", spec.n));
  }
  for (std::int64_t key = oldest; key < oldest + n; ++key) {
    const std::int64_t* value = map.find(key);
    if (value == nullptr || *value != StudyValue(key)) {
      throw std::runtime_error(absl::StrCat("wrong value for key ", key));
    }
  }
  raw.end = map.allocator().stats();
}

template <class Alloc>
void RunWorkload(const CellSpec& spec, Alloc alloc, Raw& raw) {
  const auto start = Clock::now();
  const std::int64_t faults_before = MinorFaults();
  if (spec.workload == Workload::kPersistent) {
    PersistentStudyMap<Alloc> map(StableHash{}, std::equal_to<std::int64_t>(), std::move(alloc));
    // Only the newest version is kept: each update copies the key's path from an lvalue, then
    // the assignment drops the old version, which frees the path it replaced.
    Drive(
        spec, map, [&](std::int64_t key) { map = map.set(key, StudyValue(key)); },
        [&](std::int64_t key) { map = map.erase(key); }, raw);
    raw.rss_end_kb = AnonResidentKb();
    raw.minor_faults = MinorFaults() - faults_before;
    raw.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } else {
    StudyMap<Alloc> map(StableHash{}, std::equal_to<std::int64_t>(), std::move(alloc));
    Drive(
        spec, map, [&](std::int64_t key) { map.insert_or_assign(key, StudyValue(key)); },
        [&](std::int64_t key) { map.erase(key); }, raw);
    raw.rss_end_kb = AnonResidentKb();
    raw.minor_faults = MinorFaults() - faults_before;
    raw.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }  // the map and its policy (and a pool's mapping) go at the end of either block
}

CellResult ToRecords(const CellSpec& spec, const Raw& raw, bool owns_pool) {
  CellResult result;
  std::int64_t peak_rss = std::max(raw.rss_start_kb, raw.rss_end_kb);
  for (const RawSample& s : raw.samples) {
    peak_rss = std::max(peak_rss, s.rss_kb);
    result.samples.push_back(RecordFrom<schema::TimelineSample>([&](SF field) -> Value {
      switch (field) {
        case SF::kProcessMalloc: return spec.process_malloc;
        case SF::kWorkload: return std::string(WorkloadName(spec.workload));
        case SF::kPolicy: return spec.policy;
        case SF::kN: return static_cast<std::int64_t>(spec.n);
        case SF::kOpIndex: return static_cast<std::int64_t>(s.op_index);
        case SF::kMapSize: return static_cast<std::int64_t>(s.map_size);
        case SF::kLiveBytes: return static_cast<std::int64_t>(s.stats.live_bytes);
        case SF::kSlotsDemanded: return static_cast<std::int64_t>(s.stats.slots_demanded);
        case SF::kCapacitySlots: return static_cast<std::int64_t>(s.stats.capacity_slots);
        case SF::kPoolChunks: return static_cast<std::int64_t>(s.stats.pool_chunks);
        case SF::kFallbackAllocations:
          return static_cast<std::int64_t>(s.stats.fallback_allocations);
        case SF::kAnonRssKb: return s.rss_kb;
        case SF::kAnonRssGrowthKb: return s.rss_kb - raw.rss_start_kb;
      }
      return {};
    }));
  }
  const allocators::AllocStats& end = raw.end;
  result.cell = RecordFrom<schema::TimelineCell>([&](CF field) -> Value {
    switch (field) {
      case CF::kProcessMalloc: return spec.process_malloc;
      case CF::kWorkload: return std::string(WorkloadName(spec.workload));
      case CF::kPolicy: return spec.policy;
      case CF::kN: return static_cast<std::int64_t>(spec.n);
      case CF::kOperations: return static_cast<std::int64_t>(Operations(spec.workload, spec.n));
      case CF::kSampleEvery: return static_cast<std::int64_t>(spec.sample_every);
      case CF::kPoolSlots:
        return owns_pool ? Value(static_cast<std::int64_t>(spec.pool_slots)) : Value();
      case CF::kFirstFallbackOp:
        return raw.first_fallback_op ? Value(static_cast<std::int64_t>(*raw.first_fallback_op))
                                     : Value();
      case CF::kSlotsDemanded: return static_cast<std::int64_t>(end.slots_demanded);
      case CF::kCapacitySlots: return static_cast<std::int64_t>(end.capacity_slots);
      case CF::kPoolChunks: return static_cast<std::int64_t>(end.pool_chunks);
      case CF::kFallbackAllocations: return static_cast<std::int64_t>(end.fallback_allocations);
      case CF::kPeakLiveBytes: return static_cast<std::int64_t>(end.peak_live_bytes);
      case CF::kAnonRssStartKb: return raw.rss_start_kb;
      case CF::kAnonRssPeakKb: return peak_rss;
      case CF::kAnonRssEndKb: return raw.rss_end_kb;
      case CF::kAnonRssAfterTeardownKb: return raw.rss_after_teardown_kb;
      case CF::kRetainedKb: return raw.rss_after_teardown_kb - raw.rss_start_kb;
      case CF::kMinorFaults: return raw.minor_faults;
      case CF::kSeconds: return raw.seconds;
      case CF::kHost: return HostClass();
    }
    return {};
  });
  return result;
}

}  // namespace

absl::string_view WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kBuild: return "build";
    case Workload::kChurn: return "churn";
    case Workload::kPersistent: return "persistent";
  }
  return "?";
}

std::uint64_t Operations(Workload workload, std::uint64_t n) {
  return workload == Workload::kBuild ? n : 3 * n;
}

CellResult RunCell(const CellSpec& spec) {
  if (spec.sample_every == 0) throw std::invalid_argument("sample_every must be at least 1");
  const allocators::PolicyInfo* info = allocators::FindPolicy(spec.policy);
  if (info == nullptr) throw std::invalid_argument("unknown policy '" + spec.policy + "'");
  allocators::PolicyOptions options;
  // A timeline shows where the pool runs out; 80% warnings would only repeat it on stderr.
  options.pool = {.capacity_slots = spec.pool_slots, .quiet = true};
  Raw raw;
  // The sample buffer is sized, so written and resident, before the baseline is read: it is not
  // the map's memory.
  raw.samples.resize(Operations(spec.workload, spec.n) / spec.sample_every + 2);
  // A throwaway instance of the policy first: a library policy loads and initialises its library
  // (allocators/private_library.h) once per process and keeps it, which is not the map's memory
  // either (the process malloc's own start-up also happened before the baseline).
  allocators::WithPolicy(spec.policy, options, [](auto policy) {
    policy.deallocate(policy.allocate(64), 64);
  });
  raw.rss_start_kb = AnonResidentKb();
  if (raw.rss_start_kb <= 0) throw std::runtime_error("cannot read /proc/self/statm");
  allocators::WithPolicy(spec.policy, options,
                         [&](auto policy) { RunWorkload(spec, std::move(policy), raw); });
  raw.rss_after_teardown_kb = AnonResidentKb();
  raw.samples.resize(raw.sample_count);
  return ToRecords(spec, raw, info->owns_pool);
}

std::string EncodeSpec(const CellSpec& spec) {
  return absl::StrCat(WorkloadName(spec.workload), ",", spec.policy, ",", spec.n, ",",
                      spec.sample_every, ",", spec.pool_slots, ",", spec.process_malloc);
}

CellSpec DecodeSpec(absl::string_view text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ',');
  if (parts.size() != 6) {
    throw std::invalid_argument("expected workload,policy,n,sample_every,pool_slots,malloc");
  }
  CellSpec spec;
  bool known = false;
  for (Workload w : kAllWorkloads) {
    if (WorkloadName(w) == parts[0]) {
      spec.workload = w;
      known = true;
    }
  }
  if (!known) throw std::invalid_argument("unknown workload '" + parts[0] + "'");
  spec.policy = parts[1];
  if (!absl::SimpleAtoi(parts[2], &spec.n) || !absl::SimpleAtoi(parts[3], &spec.sample_every) ||
      !absl::SimpleAtoi(parts[4], &spec.pool_slots) || spec.sample_every == 0) {
    throw std::invalid_argument("n, sample_every and pool_slots must be whole numbers");
  }
  if (allocators::FindPolicy(parts[1]) == nullptr) {
    throw std::invalid_argument("unknown policy '" + parts[1] + "'");
  }
  spec.process_malloc = parts[5];
  const schema::FieldSpec& malloc_field =
      CellRecord::Spec(schema::TimelineCell::Field::kProcessMalloc);
  if (std::find(malloc_field.values.begin(), malloc_field.values.end(), spec.process_malloc) ==
      malloc_field.values.end()) {
    throw std::invalid_argument("unknown process malloc '" + spec.process_malloc + "'");
  }
  return spec;
}

namespace {
std::string NameOf(absl::string_view workload, absl::string_view policy, std::int64_t n) {
  return absl::StrCat(workload, "/", policy, "/n=", n);
}
}  // namespace

std::string CellName(const CellSpec& spec) {
  return NameOf(WorkloadName(spec.workload), spec.policy, static_cast<std::int64_t>(spec.n));
}
std::string CellName(const CellRecord& cell) {
  return NameOf(cell.Str(CF::kWorkload), cell.Str(CF::kPolicy), cell.Int(CF::kN));
}
std::string CellName(const SampleRecord& sample) {
  return NameOf(sample.Str(SF::kWorkload), sample.Str(SF::kPolicy), sample.Int(SF::kN));
}

nlohmann::ordered_json Settings::ToJson() const {
  std::vector<absl::string_view> names;
  for (Workload w : workloads) names.push_back(WorkloadName(w));
  return {{"n", absl::StrJoin(ns, ",")},
          {"policies", absl::StrJoin(policies, ",")},
          {"workloads", absl::StrJoin(names, ",")},
          {"samples", samples},
          {"pool_slots", pool_slots},
          {"binary", binary},
          {"shard", shard}};
}

Settings SettingsFromJson(const nlohmann::ordered_json& config) {
  const ConfigReader read(config);
  Settings settings;
  settings.ns = read.Counts("n");
  settings.policies = read.Names("policies");
  settings.workloads = read.Enums<Workload>("workloads", kAllWorkloads, WorkloadName);
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
    for (Workload workload : settings.workloads) {
      for (const std::string& policy : settings.policies) {
        const std::uint64_t ops = Operations(workload, n);
        // At most `samples` samples after op 0 (the last operation is always one).
        cells.push_back({.workload = workload, .policy = policy, .n = n,
                         .sample_every = std::max<std::uint64_t>(
                             1, (ops + settings.samples - 1) / settings.samples),
                         .pool_slots = settings.pool_slots, .process_malloc = process_malloc});
      }
    }
  }
  return cells;
}

std::uint64_t CellCost(const CellSpec& spec) {
  constexpr std::uint64_t kProcessStart = 50'000;  // about the operations of a process's start
  return Operations(spec.workload, spec.n) * (spec.workload == Workload::kPersistent ? 4 : 1) +
         kProcessStart;
}

std::string FormatCells(const std::vector<CellRecord>& cells) {
  auto kb = [](std::int64_t kb) {
    return absl::StrCat(kb < 0 ? "-" : "", FormatCount(static_cast<double>(kb < 0 ? -kb : kb)));
  };
  constexpr const char* kFormat = "%-10s %-17s %10s | %12s %12s %10s %7s | %13s | %10s %10s %10s\n";
  std::string out = absl::StrFormat(kFormat, "workload", "policy", "N", "first fallb.",
                                    "slots dem.", "fallbacks", "chunks", "peak live KiB",
                                    "RSS peak+", "RSS end+", "retained");
  out += std::string(142, '-') + "\n";
  for (const CellRecord& r : cells) {
    const std::int64_t rss_start = r.Int(CF::kAnonRssStartKb);
    out += absl::StrFormat(
        kFormat, r.Str(CF::kWorkload), r.Str(CF::kPolicy), FormatCount(r.Float(CF::kN)),
        r.IsNull(CF::kFirstFallbackOp) ? "-" : FormatCount(r.Float(CF::kFirstFallbackOp)),
        FormatCount(r.Float(CF::kSlotsDemanded)), FormatCount(r.Float(CF::kFallbackAllocations)),
        FormatCount(r.Float(CF::kPoolChunks)), FormatCount(r.Float(CF::kPeakLiveBytes) / 1024),
        kb(r.Int(CF::kAnonRssPeakKb) - rss_start), kb(r.Int(CF::kAnonRssEndKb) - rss_start),
        kb(r.Int(CF::kRetainedKb)));
  }
  return out;
}

}  // namespace experiments::memory_timeline
