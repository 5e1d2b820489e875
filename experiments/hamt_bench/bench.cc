// hamt::Map against the usual hash maps, int64 -> int64, Google Benchmark.
//
// Medians of 5 runs, as reported:
//   bazel run -c opt //experiments/hamt_bench --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Arguments: keys:N is the number of keys (0..N-1), shuffled:1 inserts and looks them up in a
// random order (shuffled:0 in sequence). Insert times whole builds of an empty map (the map is
// created and destroyed outside the timed region); find times N hits on a map built beforehand.
// Counters: ns_per_key (time per insert or find), bytes_per_entry (live allocator bytes after the
// build over N; hamt::Map only, read from its policy's stats()), peak_rss_mb (the process's peak
// resident set so far, from getrusage: monotonic over the run, so read it on the largest case).
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "allocators/bump_pool.h"
#include "allocators/slot_pool.h"
#include "allocators/slot_recycler.h"
#include "benchmark/benchmark.h"
#include "hamt/hamt.h"

namespace {

using Key = std::int64_t;
using Value = std::int64_t;

template <class Policy>
using HamtMap = hamt::Map<Key, Value, absl::Hash<Key>, std::equal_to<Key>, Policy>;

// Pools get 64 slots (512 bytes) per key: never exhausted by one build. The reservation is
// address space only (MAP_NORESERVE); pages are committed as the build touches them.
allocators::PoolOptions PoolFor(std::size_t keys) {
  return {.capacity_slots = 64 * keys, .warn_utilization = 0.8, .quiet = true};
}

struct HamtMalloc {
  static HamtMap<allocators::MallocPolicy> Make(std::size_t) { return {}; }
};
struct HamtBumpPool {
  static HamtMap<allocators::BumpPool> Make(std::size_t keys) {
    return HamtMap<allocators::BumpPool>(allocators::BumpPool(PoolFor(keys)));
  }
};
struct HamtSlotRecycler {
  static HamtMap<allocators::SlotRecycler> Make(std::size_t keys) {
    return HamtMap<allocators::SlotRecycler>(allocators::SlotRecycler(PoolFor(keys)));
  }
};
struct AbslFlatHashMap {
  static absl::flat_hash_map<Key, Value> Make(std::size_t) { return {}; }
};
struct AbslNodeHashMap {
  static absl::node_hash_map<Key, Value> Make(std::size_t) { return {}; }
};
struct StdUnorderedMap {
  static std::unordered_map<Key, Value> Make(std::size_t) { return {}; }
};

template <class Map>
concept HasAllocatorStats = requires(const Map& map) { map.allocator().stats().live_bytes; };

template <class Map>
Value FindValue(const Map& map, Key key) {
  if constexpr (HasAllocatorStats<Map>) {
    return *map.find(key);
  } else {
    return map.find(key)->second;
  }
}

std::vector<Key> MakeKeys(std::size_t n, bool shuffled) {
  std::vector<Key> keys(n);
  std::iota(keys.begin(), keys.end(), Key{0});
  if (shuffled) std::shuffle(keys.begin(), keys.end(), std::mt19937_64(12345));
  return keys;
}

template <class Map>
void SetCounters(benchmark::State& state, const Map& map, std::size_t keys) {
  state.counters["ns_per_key"] = benchmark::Counter(
      static_cast<double>(state.iterations() * keys),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
  if constexpr (HasAllocatorStats<Map>) {
    state.counters["bytes_per_entry"] =
        static_cast<double>(map.allocator().stats().live_bytes) / static_cast<double>(keys);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

template <class Factory>
void BM_Insert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<Key> keys = MakeKeys(n, state.range(1) != 0);
  auto last_map = Factory::Make(n);
  for (auto _ : state) {
    state.PauseTiming();
    last_map = Factory::Make(n);  // frees the previous build outside the timed region
    auto map = Factory::Make(n);
    state.ResumeTiming();
    for (Key key : keys) map.try_emplace(key, key);
    benchmark::DoNotOptimize(map);
    state.PauseTiming();
    last_map = std::move(map);
    state.ResumeTiming();
  }
  SetCounters(state, last_map, n);
}

template <class Factory>
void BM_Find(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<Key> keys = MakeKeys(n, state.range(1) != 0);
  auto map = Factory::Make(n);
  for (Key key : keys) map.try_emplace(key, key);
  for (auto _ : state) {
    Value sum = 0;
    for (Key key : keys) sum += FindValue(map, key);
    benchmark::DoNotOptimize(std::as_const(sum));
  }
  SetCounters(state, map, n);
}

void Sizes(benchmark::internal::Benchmark* benchmark) {
  benchmark->ArgNames({"keys", "shuffled"})
      ->ArgsProduct({{10'000, 1'000'000}, {0, 1}})
      ->Unit(benchmark::kMillisecond);
}

#define HAMT_BENCHMARK_MAP(Factory)                   \
  BENCHMARK_TEMPLATE(BM_Insert, Factory)->Apply(Sizes); \
  BENCHMARK_TEMPLATE(BM_Find, Factory)->Apply(Sizes)

HAMT_BENCHMARK_MAP(HamtMalloc);
HAMT_BENCHMARK_MAP(HamtBumpPool);
HAMT_BENCHMARK_MAP(HamtSlotRecycler);
HAMT_BENCHMARK_MAP(AbslFlatHashMap);
HAMT_BENCHMARK_MAP(AbslNodeHashMap);
HAMT_BENCHMARK_MAP(StdUnorderedMap);

}  // namespace
