// experiments/allocator_matrix/bench.cc: every allocator policy against every workload on
// hamt::Map<int64_t, int64_t>, plus hash-map baselines, as Google Benchmark benchmarks.
//
// Built once per process malloc (//experiments/allocator_matrix:matrix_glibc, _mimalloc, _jemalloc, _tcmalloc, via
// cc_binary_per_malloc) and normally run by //experiments:allocator_matrix, which merges the JSON.
// Direct use:
//   bazel-bin/experiments/matrix_glibc --matrix_sizes=1000,10000 --matrix_threads=1,2
//       --benchmark_filter='^insert_seq/' --benchmark_min_time=0.01
// (--matrix_names_file=PATH registers only the benchmarks PATH names, one per line: a shard's.)
//
// Names: <workload>/<policy>/keys:<n>, Google Benchmark appends /threads:<t>. Each thread builds
// its own map over its own policy instance (one independent map per thread).
// One iteration processes `ops_per_iter` operations (N for every workload: N inserts, N finds, N
// erases, N erase+insert pairs for churn, ...); the merger divides real_time by it (ns_per_op).
// Policies: every line of the allocator registry (allocators/registry.h), fixed pools sized to fit,
// growing pools from one small chunk, plus bump_pool_undersized; then the hash-map baselines.
// Counters (all averaged over threads): ops_per_iter; allocs_per_op and bytes_per_op (allocator
// calls and bytes requested in the timed region per op); bytes_per_entry (allocator live bytes with
// the map(s) at full size / N); fallback_pct (fallback allocations over all allocations of the last
// map, over its whole life); every AllocStats field of the last map(s) over their whole life, under
// its own name (stats.h's field list); peak_rss_kb (process peak RSS so far: monotonic over the
// run). Maps whose allocator keeps no AllocStats (absl, std::unordered_map with std::allocator)
// report only ops_per_iter and peak_rss_kb.
// Inputs (the shuffled key permutation per N) are built before any benchmark runs. Every benchmark
// checks its result (size and a sample of values) and fails with SkipWithError on a mismatch.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "allocators/pmr.h"
#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "allocators/slot_recycler.h"
#include "allocators/stats.h"
#include "benchmark/benchmark.h"
#include "experiments/common/process_memory.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/workload_keys.h"
#include "hamt/hamt.h"

namespace {

using Key = std::int64_t;
using Value = std::int64_t;
using allocators::AllocStats;

constexpr Value ValueOf(Key key) { return experiments::MatrixValue(key); }

// Pool sizing. A bump pool's demand is every node ever allocated during a build (~30 slots per
// entry in the reference study at 100K), so "sized to fit" reserves 64 slots per entry (address
// space only: MAP_NORESERVE). "Undersized" gets 4 slots per entry, well below one build's demand,
// so most allocations fall back to malloc.
constexpr std::size_t kFitSlotsPerEntry = 64;
constexpr std::size_t kUndersizedSlotsPerEntry = 4;
constexpr std::size_t kMinPoolSlots = 4096;

allocators::PoolOptions Pool(std::size_t slots) {
  return {.capacity_slots = slots, .warn_utilization = 0.8, .quiet = true};
}

// A growing pool (growing_pool_*) starts with one kMinPoolSlots chunk whatever N, and doubles: it is
// never sized, which is its point.
enum class Sizing { kFit, kUndersized, kGrowing };

std::size_t PoolSlots(Sizing sizing, std::size_t n) {
  if (sizing == Sizing::kGrowing) return kMinPoolSlots;
  return sizing == Sizing::kFit ? kFitSlotsPerEntry * n + kMinPoolSlots
                                : kUndersizedSlotsPerEntry * n;
}

template <class P>
using HamtMap = hamt::Map<Key, Value, absl::Hash<Key>, std::equal_to<Key>, P>;

// ---- Map factories: one per registry line (and sizing) / baseline. Each provides Map, Make(n)
// and the ops; baselines also their kName.

template <class Line, Sizing kSizing = Sizing::kFit>
struct HamtFactory {
  using Map = HamtMap<allocators::PolicyOf<Line>>;
  static std::unique_ptr<Map> Make(std::size_t n) {
    allocators::PolicyOptions options;
    options.pool = Pool(PoolSlots(kSizing, n));
    return std::make_unique<Map>(allocators::MakePolicy<Line>(options));
  }
  static void Insert(Map& m, Key k, Value v) { m.insert_or_assign(k, v); }
  static const Value* Find(const Map& m, Key k) { return m.find(k); }
  static bool Erase(Map& m, Key k) { return m.erase(k); }
  static const AllocStats* Stats(const Map& m) { return &m.allocator().stats(); }
};

template <class M>
struct StdOps {
  using Map = M;
  static void Insert(Map& m, Key k, Value v) { m.insert_or_assign(k, v); }
  static const Value* Find(const Map& m, Key k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  }
  static bool Erase(Map& m, Key k) { return m.erase(k) != 0; }
};

struct AbslFlat : StdOps<absl::flat_hash_map<Key, Value>> {
  static constexpr const char* kName = "absl_flat_hash_map";
  static std::unique_ptr<Map> Make(std::size_t) { return std::make_unique<Map>(); }
  static const AllocStats* Stats(const Map&) { return nullptr; }
};
struct AbslNode : StdOps<absl::node_hash_map<Key, Value>> {
  static constexpr const char* kName = "absl_node_hash_map";
  static std::unique_ptr<Map> Make(std::size_t) { return std::make_unique<Map>(); }
  static const AllocStats* Stats(const Map&) { return nullptr; }
};
struct StdUnordered : StdOps<std::unordered_map<Key, Value>> {
  static constexpr const char* kName = "std_unordered_map";
  static std::unique_ptr<Map> Make(std::size_t) { return std::make_unique<Map>(); }
  static const AllocStats* Stats(const Map&) { return nullptr; }
};

// std::pmr::unordered_map whose nodes and buckets come from our slot recycler, through
// PolicyResource (one virtual call per allocation). The resource is declared first, so the map
// dies first.
class PmrUnorderedMapOverRecycler {
 public:
  using Resource = allocators::PolicyResource<allocators::SlotRecycler>;
  explicit PmrUnorderedMapOverRecycler(std::size_t n)
      : resource_(std::make_unique<Resource>(Pool(kFitSlotsPerEntry * n + kMinPoolSlots))),
        map_(resource_.get()) {}
  std::pmr::unordered_map<Key, Value>& map() { return map_; }
  const std::pmr::unordered_map<Key, Value>& map() const { return map_; }
  const AllocStats& stats() const { return resource_->stats(); }

 private:
  std::unique_ptr<Resource> resource_;
  std::pmr::unordered_map<Key, Value> map_;
};
struct PmrUnorderedRecycler {
  using Map = PmrUnorderedMapOverRecycler;
  static constexpr const char* kName = "pmr_unordered_map_recycler";
  static std::unique_ptr<Map> Make(std::size_t n) { return std::make_unique<Map>(n); }
  static void Insert(Map& m, Key k, Value v) { m.map().insert_or_assign(k, v); }
  static const Value* Find(const Map& m, Key k) { return StdOps<std::pmr::unordered_map<Key, Value>>::Find(m.map(), k); }
  static bool Erase(Map& m, Key k) { return m.map().erase(k) != 0; }
  static const AllocStats* Stats(const Map& m) { return &m.stats(); }
};

template <class F>
std::size_t SizeOf(const typename F::Map& m) {
  if constexpr (std::is_same_v<F, PmrUnorderedRecycler>) {
    return m.map().size();
  } else {
    return m.size();
  }
}

template <class F>
AllocStats StatsOf(const typename F::Map& m) {
  const AllocStats* s = F::Stats(m);
  return s == nullptr ? AllocStats{} : *s;
}

// ---- Inputs ----

struct Inputs {
  std::vector<Key> shuffled;  // a permutation of 0..n-1 (fixed seed): ShuffledKeys(n)
};
std::map<std::size_t, Inputs>& AllInputs() {
  static auto* inputs = new std::map<std::size_t, Inputs>();
  return *inputs;
}
void BuildInputs(std::size_t n) { AllInputs()[n].shuffled = experiments::ShuffledKeys(n); }

// ---- Telemetry ----

struct Tally {
  bool has_stats = false;
  double allocs = 0, bytes = 0;   // timed region, summed over iterations
  double live_bytes_full = 0;     // live bytes with the map(s) at full size (last iteration)
  AllocStats lifetime;             // of the last map(s), whole life

  void AddDelta(const AllocStats& before, const AllocStats& after) {
    allocs += static_cast<double>(after.allocations - before.allocations);
    bytes += static_cast<double>(after.bytes_allocated - before.bytes_allocated);
  }
  void SetLifetime(const AllocStats& s) { lifetime = s; }
  // After a timed region that ends with the map(s) at full size.
  void RecordFull(const AllocStats& before, const AllocStats& after) {
    AddDelta(before, after);
    SetLifetime(after);
    live_bytes_full = static_cast<double>(after.live_bytes);
  }
};

void Report(benchmark::State& state, std::size_t n, std::size_t ops_per_iter, const Tally& t) {
  using benchmark::Counter;
  state.counters["ops_per_iter"] = Counter(static_cast<double>(ops_per_iter), Counter::kAvgThreads);
  if (t.has_stats) {
    // Google Benchmark sums counters and iterations over threads, so kAvgIterations alone gives
    // the per-op average over all threads.
    const auto per_op = Counter::kAvgIterations;
    state.counters["allocs_per_op"] = Counter(t.allocs / ops_per_iter, per_op);
    state.counters["bytes_per_op"] = Counter(t.bytes / ops_per_iter, per_op);
    state.counters["bytes_per_entry"] = Counter(t.live_bytes_full / n, Counter::kAvgThreads);
    state.counters["fallback_pct"] = Counter(allocators::FallbackPct(t.lifetime), Counter::kAvgThreads);
    t.lifetime.for_each_field([&state](std::string_view name, std::uint64_t value) {
      state.counters[std::string(name)] = Counter(static_cast<double>(value), Counter::kAvgThreads);
    });
  }
  state.counters["peak_rss_kb"] =
      Counter(static_cast<double>(experiments::PeakRssKb()), Counter::kAvgThreads);
}

// Size check plus up to 16 sampled values. Returns an empty string when all is well.
template <class F>
std::string Verify(const typename F::Map& m, std::size_t expected_size, const Key* sample_keys,
                   std::size_t sample_count) {
  if (SizeOf<F>(m) != expected_size) {
    return "size " + std::to_string(SizeOf<F>(m)) + ", expected " + std::to_string(expected_size);
  }
  const std::size_t step = std::max<std::size_t>(1, sample_count / 16);
  for (std::size_t i = 0; i < sample_count; i += step) {
    const Value* v = F::Find(m, sample_keys[i]);
    if (v == nullptr || *v != ValueOf(sample_keys[i])) {
      return "wrong or missing value for key " + std::to_string(sample_keys[i]);
    }
  }
  return {};
}

// ---- Workloads ----

enum class Workload {
  kInsertSeq,
  kInsertShuffled,
  kFindHit,
  kFindMiss,
  kEraseAll,
  kMixed,
  kChurn,
  kBuildDestroy,
  kMultiMap,
};
constexpr Workload kAllWorkloads[] = {
    Workload::kInsertSeq, Workload::kInsertShuffled, Workload::kFindHit,
    Workload::kFindMiss,  Workload::kEraseAll,       Workload::kMixed,
    Workload::kChurn,     Workload::kBuildDestroy,   Workload::kMultiMap,
};
const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kInsertSeq: return "insert_seq";
    case Workload::kInsertShuffled: return "insert_shuffled";
    case Workload::kFindHit: return "find_hit";
    case Workload::kFindMiss: return "find_miss";
    case Workload::kEraseAll: return "erase_all";
    case Workload::kMixed: return "mixed";
    case Workload::kChurn: return "churn";
    case Workload::kBuildDestroy: return "build_destroy";
    case Workload::kMultiMap: return "multi_map";
  }
  return "?";
}

constexpr std::size_t kMultiMaps = 4;

template <class F>
void Fill(typename F::Map& m, const Key* keys, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) F::Insert(m, keys[i], ValueOf(keys[i]));
}

// Insert N keys into a fresh map; map creation and destruction are outside the timed region.
template <class F>
void RunInsert(benchmark::State& state, std::size_t n, bool shuffled) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  std::vector<Key> sequential;
  if (!shuffled) {
    sequential.resize(n);
    std::iota(sequential.begin(), sequential.end(), Key{0});
  }
  const Key* order = shuffled ? keys.data() : sequential.data();
  Tally t;
  for (auto _ : state) {
    state.PauseTiming();
    auto map = F::Make(n);
    const AllocStats before = StatsOf<F>(*map);
    state.ResumeTiming();
    Fill<F>(*map, order, n);
    state.PauseTiming();
    const AllocStats after = StatsOf<F>(*map);
    t.has_stats = F::Stats(*map) != nullptr;
    t.RecordFull(before, after);
    if (std::string error = Verify<F>(*map, n, keys.data(), n); !error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    map.reset();
    state.ResumeTiming();
  }
  Report(state, n, n, t);
}

// N lookups (hits: keys in shuffled order; misses: keys n..2n-1) on a map built beforehand.
template <class F>
void RunFind(benchmark::State& state, std::size_t n, bool hit) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  auto map = F::Make(n);
  Fill<F>(*map, keys.data(), n);
  const AllocStats built = StatsOf<F>(*map);
  const Key offset = hit ? 0 : static_cast<Key>(n);
  Tally t;
  t.has_stats = F::Stats(*map) != nullptr;
  std::string error;
  for (auto _ : state) {
    std::size_t found = 0;
    Value sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Value* v = F::Find(*map, keys[i] + offset);
      if (v != nullptr) {
        ++found;
        sum += *v;
      }
    }
    // The const overload: Debian's benchmark 1.7.1 gives small lvalues a "+m,r" asm operand, which
    // GCC 12 can miscompile (the value read back is garbage; seen under -O1 -fsanitize=address).
    benchmark::DoNotOptimize(std::as_const(sum));
    // Sum of ValueOf(k) over k in 0..n-1: 10 * n(n-1)/2 + n.
    const Value expected_sum = hit ? static_cast<Value>(5 * n * (n - 1) + n) : 0;
    if (found != (hit ? n : 0) || sum != expected_sum) {
      error = "lookup found " + std::to_string(found) + " keys, expected " +
              std::to_string(hit ? n : 0);
      break;
    }
  }
  if (error.empty()) error = Verify<F>(*map, n, keys.data(), n);
  if (!error.empty()) state.SkipWithError(error.c_str());
  t.RecordFull(built, StatsOf<F>(*map));
  Report(state, n, n, t);
}

// Erase all N keys (shuffled order) from a map built outside the timed region.
template <class F>
void RunEraseAll(benchmark::State& state, std::size_t n) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  Tally t;
  for (auto _ : state) {
    state.PauseTiming();
    auto map = F::Make(n);
    Fill<F>(*map, keys.data(), n);
    const AllocStats before = StatsOf<F>(*map);
    t.has_stats = F::Stats(*map) != nullptr;
    t.live_bytes_full = static_cast<double>(before.live_bytes);
    state.ResumeTiming();
    std::size_t erased = 0;
    for (std::size_t i = 0; i < n; ++i) erased += F::Erase(*map, keys[i]) ? 1 : 0;
    state.PauseTiming();
    const AllocStats after = StatsOf<F>(*map);
    t.AddDelta(before, after);
    t.SetLifetime(after);
    if (erased != n || SizeOf<F>(*map) != 0) {
      state.SkipWithError(("erased " + std::to_string(erased) + " of " + std::to_string(n)).c_str());
      break;
    }
    map.reset();
    state.ResumeTiming();
  }
  Report(state, n, n, t);
}

// N operations alternating find (a key present) and insert (a new key), starting from a map of
// N/2 keys built outside the timed region; ends at N keys.
template <class F>
void RunMixed(benchmark::State& state, std::size_t n) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  const std::size_t half = n / 2;
  const std::size_t inserts = n - half;
  Tally t;
  for (auto _ : state) {
    state.PauseTiming();
    auto map = F::Make(n);
    Fill<F>(*map, keys.data(), half);
    const AllocStats before = StatsOf<F>(*map);
    state.ResumeTiming();
    std::size_t found = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i % 2 == 0 && half > 0) {
        found += F::Find(*map, keys[(i / 2) % half]) != nullptr ? 1 : 0;
      } else {
        const Key k = keys[half + i / 2];
        F::Insert(*map, k, ValueOf(k));
      }
    }
    benchmark::DoNotOptimize(std::as_const(found));
    state.PauseTiming();
    const AllocStats after = StatsOf<F>(*map);
    t.has_stats = F::Stats(*map) != nullptr;
    t.RecordFull(before, after);
    std::string error = Verify<F>(*map, half + inserts, keys.data(), n);
    const std::size_t expected_found = half > 0 ? (n + 1) / 2 : 0;
    if (error.empty() && found != expected_found) {
      error = "mixed: " + std::to_string(found) + " of " + std::to_string(expected_found) +
              " finds hit";
    }
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    map.reset();
    state.ResumeTiming();
  }
  Report(state, n, n, t);
}

// Steady state: a map of N keys; each op erases the oldest key and inserts a new one. The map
// persists across iterations (the recycler's case: freed nodes are reused; a bump pool keeps
// spending fresh slots and eventually falls back).
template <class F>
void RunChurn(benchmark::State& state, std::size_t n) {
  auto map = F::Make(n);
  for (std::size_t i = 0; i < n; ++i) F::Insert(*map, static_cast<Key>(i), ValueOf(static_cast<Key>(i)));
  Key oldest = 0;
  Key next = static_cast<Key>(n);
  Tally t;
  t.has_stats = F::Stats(*map) != nullptr;
  const AllocStats before = StatsOf<F>(*map);
  std::size_t failed = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      failed += F::Erase(*map, oldest++) ? 0 : 1;
      F::Insert(*map, next, ValueOf(next));
      ++next;
    }
  }
  const AllocStats after = StatsOf<F>(*map);
  t.RecordFull(before, after);
  std::string error;
  if (failed != 0) error = "churn: " + std::to_string(failed) + " erases missed";
  if (error.empty() && SizeOf<F>(*map) != n) error = "churn: size changed";
  if (error.empty()) {
    for (Key k : {oldest, next - 1, oldest + static_cast<Key>(n / 2)}) {
      const Value* v = F::Find(*map, k);
      if (v == nullptr || *v != ValueOf(k)) error = "churn: wrong value for key " + std::to_string(k);
    }
    if (oldest > 0 && F::Find(*map, oldest - 1) != nullptr) error = "churn: erased key still present";
  }
  if (!error.empty()) state.SkipWithError(error.c_str());
  Report(state, n, n, t);
}

// Creation of the policy and map, N shuffled inserts and teardown, all timed.
template <class F>
void RunBuildDestroy(benchmark::State& state, std::size_t n) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  Tally t;
  std::string error;
  for (auto _ : state) {
    auto map = F::Make(n);
    Fill<F>(*map, keys.data(), n);
    const AllocStats after = StatsOf<F>(*map);
    t.has_stats = F::Stats(*map) != nullptr;
    t.allocs += static_cast<double>(after.allocations);
    t.bytes += static_cast<double>(after.bytes_allocated);
    t.SetLifetime(after);
    t.live_bytes_full = static_cast<double>(after.live_bytes);
    error = Verify<F>(*map, n, keys.data(), 4);  // cheap: 4 lookups
    if (!error.empty()) break;
    map.reset();
  }
  if (!error.empty()) state.SkipWithError(error.c_str());
  Report(state, n, n, t);
}

// kMultiMaps maps (each with its own policy) built at once, inserts interleaved round-robin:
// N keys in all. Creation and teardown outside the timed region.
template <class F>
void RunMultiMap(benchmark::State& state, std::size_t n) {
  const std::vector<Key>& keys = AllInputs().at(n).shuffled;
  Tally t;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::unique_ptr<typename F::Map>> maps;
    AllocStats before_sum;
    for (std::size_t m = 0; m < kMultiMaps; ++m) maps.push_back(F::Make(n / kMultiMaps + 1));
    for (const auto& map : maps) before_sum += StatsOf<F>(*map);
    state.ResumeTiming();
    for (std::size_t i = 0; i < n; ++i) F::Insert(*maps[i % kMultiMaps], keys[i], ValueOf(keys[i]));
    state.PauseTiming();
    AllocStats after_sum;
    std::size_t total = 0;
    std::string error;
    for (std::size_t m = 0; m < kMultiMaps; ++m) {
      after_sum += StatsOf<F>(*maps[m]);
      total += SizeOf<F>(*maps[m]);
      for (std::size_t i = m; i < n && i < m + 16 * kMultiMaps; i += kMultiMaps) {
        const Value* v = F::Find(*maps[m], keys[i]);
        if (v == nullptr || *v != ValueOf(keys[i])) error = "multi_map: wrong value";
      }
    }
    t.has_stats = F::Stats(*maps[0]) != nullptr;
    t.RecordFull(before_sum, after_sum);
    if (error.empty() && total != n) error = "multi_map: total size " + std::to_string(total);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    maps.clear();
    state.ResumeTiming();
  }
  Report(state, n, n, t);
}

template <class F>
void RunWorkload(benchmark::State& state, const std::string& policy, Workload w, std::size_t n) {
  // A policy whose library cannot be loaded fails here, before the timed loop.
  try {
    F::Make(1);
  } catch (const std::exception& e) {
    state.SkipWithError((policy + ": " + e.what()).c_str());
    for (auto _ : state) {
    }
    return;
  }
  switch (w) {
    case Workload::kInsertSeq: return RunInsert<F>(state, n, false);
    case Workload::kInsertShuffled: return RunInsert<F>(state, n, true);
    case Workload::kFindHit: return RunFind<F>(state, n, true);
    case Workload::kFindMiss: return RunFind<F>(state, n, false);
    case Workload::kEraseAll: return RunEraseAll<F>(state, n);
    case Workload::kMixed: return RunMixed<F>(state, n);
    case Workload::kChurn: return RunChurn<F>(state, n);
    case Workload::kBuildDestroy: return RunBuildDestroy<F>(state, n);
    case Workload::kMultiMap: return RunMultiMap<F>(state, n);
  }
}

// --matrix_names_file: the benchmarks to register (a shard's, one name per line as
// --benchmark_list_tests prints them); unset: all.
std::optional<std::set<std::string>> g_only;

// <workload>/<policy>/keys:<n>, each thread count (Google Benchmark names each
// <name>/threads:<t>); with --matrix_names_file, only the thread counts it names.
template <class F>
void RegisterFor(const std::string& policy, Workload w, std::size_t n,
                 const std::vector<int>& threads) {
  const std::string name = std::string(WorkloadName(w)) + "/" + policy + "/keys:" + std::to_string(n);
  std::vector<int> chosen;
  for (int t : threads) {
    if (!g_only || g_only->count(name + "/threads:" + std::to_string(t))) chosen.push_back(t);
  }
  if (chosen.empty()) return;
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [policy, w, n](benchmark::State& state) {
    RunWorkload<F>(state, policy, w, n);
  });
  for (int t : chosen) b->Threads(t);
}

// Every registry line (bump_pool also undersized), then the baselines.
void RegisterAll(Workload w, std::size_t n, const std::vector<int>& threads) {
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line>) {
    const std::string name(Line::name);
    if constexpr (Line::name.starts_with("growing")) {
      RegisterFor<HamtFactory<Line, Sizing::kGrowing>>(name, w, n, threads);
      return;
    }
    RegisterFor<HamtFactory<Line>>(name, w, n, threads);
    if (name == "bump_pool") {
      RegisterFor<HamtFactory<Line, Sizing::kUndersized>>(name + "_undersized", w, n, threads);
    }
  });
  auto baseline = [&]<class F>(std::type_identity<F>) { RegisterFor<F>(F::kName, w, n, threads); };
  baseline(std::type_identity<AbslFlat>{});
  baseline(std::type_identity<AbslNode>{});
  baseline(std::type_identity<StdUnordered>{});
  baseline(std::type_identity<PmrUnorderedRecycler>{});
}

// ---- Command line: our flags are --matrix_sizes and --matrix_threads; the rest go to Google
// Benchmark. A bad value prints one line and exits 2.

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "allocator_matrix_bench: %s\n", message.c_str());
  std::exit(2);
}

std::vector<std::uint64_t> ParseList(const std::string& flag, const std::string& text) {
  std::vector<std::uint64_t> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0) {
      Usage("--" + flag + ": bad value '" + item + "' (expected positive integers, comma-separated)");
    }
    values.push_back(v);
    start = comma + 1;
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  allocators::CheckProcessMallocOrDie();

  std::vector<std::uint64_t> sizes = {1000, 10000, 100000, 1000000};
  std::vector<int> threads = {1, 2};
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--matrix_sizes=", 0) == 0) {
      sizes = ParseList("matrix_sizes", arg.substr(std::strlen("--matrix_sizes=")));
    } else if (arg.rfind("--matrix_threads=", 0) == 0) {
      threads.clear();
      for (std::uint64_t t : ParseList("matrix_threads", arg.substr(std::strlen("--matrix_threads=")))) {
        if (t > 1024) Usage("--matrix_threads: at most 1024");
        threads.push_back(static_cast<int>(t));
      }
    } else if (arg.rfind("--matrix_names_file=", 0) == 0) {
      const std::string path = arg.substr(std::strlen("--matrix_names_file="));
      std::ifstream in(path);
      if (!in) Usage("--matrix_names_file: cannot read " + path);
      g_only.emplace();
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) g_only->insert(line);
      }
    } else if (arg.rfind("--matrix_", 0) == 0) {
      Usage(arg + ": unknown flag");
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (argc > 1) Usage(std::string(argv[1]) + ": unknown flag");

  const allocators::ProcessMalloc process_malloc = allocators::DetectProcessMalloc();
  benchmark::AddCustomContext("process_malloc", process_malloc.name);
  benchmark::AddCustomContext("process_malloc_version", process_malloc.version);
  benchmark::AddCustomContext("process_malloc_library", process_malloc.library);
  benchmark::AddCustomContext("compiler", experiments::CompilerDescription());
  benchmark::AddCustomContext("build_flags", experiments::BuildFlagsDescription());
  benchmark::AddCustomContext("host_class", experiments::HostClass());

  for (std::uint64_t n : sizes) BuildInputs(n);
  for (Workload w : kAllWorkloads) {
    for (std::uint64_t n : sizes) {
      RegisterAll(w, n, threads);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
