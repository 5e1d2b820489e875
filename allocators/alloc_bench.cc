// allocators/alloc_bench.cc: per-allocation cost of every registry policy (registry.h), counted
// and uncounted, so that the cost of telemetry is a measured number: one allocate() and the
// matching deallocate() of a node-sized block per iteration, for fixed sizes and a HAMT-like mix.
//
// Names (ArgNames style, parseable):
//   alloc_free/policy:<name>/counted:<0|1>/bytes:<24|40|72|136|264|mix>
//   alloc_free/policy:bump_pool/touch:1/counted:<0|1>/bytes:mix
//       writes one word of every block (first touch of fresh pool pages)
//   alloc_free/policy:<pool>/fallback:<backend>/pool_slots:0/counted:<0|1>/bytes:mix
//       a 0-slot pool: every block is its fallback's, through the pool's routing
//
// What this measures, honestly:
// - The pair pattern (allocate, then free at once) is the best case for allocators with LIFO free
//   lists (glibc's tcache, mimalloc, jemalloc/tcmalloc thread caches, the slot recycler): the same
//   hot block comes back every time. It is the allocator's fast path, not a workload.
// - The block is not written (except touch:1): allocator cost only. A bump pool never reuses, so
//   untouched it never faults its pages in; touch:1 shows the cost of first-touching fresh memory
//   (page faults, amortized over the blocks per page).
// - Every policy is re-made every kResetEvery iterations with the timer paused, so that those that
//   never reuse memory (bump_pool, pmr_monotonic) stay bounded; the pause costs ~0.01 ns per
//   iteration amortized, and the same for every policy.
// - pool_slots:0 prices the fallback path, which the reference study put at ~150 ns (in a map under
//   memory pressure, not in this hot loop).
// Counters: every AllocStats field (stats.h's field list) of the last policy instance (at most
// kResetEvery pairs; all zero when uncounted), and fallback_pct.
//
// Run: bazel run -c opt //allocators:alloc_bench -- --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>

#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "benchmark/benchmark.h"

namespace allocators {
namespace {

constexpr std::int64_t kResetEvery = 1 << 16;
constexpr std::size_t kMixLength = 64;
// Enough slots for kResetEvery blocks of the largest size (264 B = 33 slots).
constexpr std::size_t kPoolSlots = kResetEvery * 33;

// An assumed HAMT-like mix of node sizes (header + 16-byte entries), weighted to small nodes:
// 24 B x19, 40 B x16, 56 B x10, 72 B x8, 136 B x6, 264 B x5, shuffled with a fixed seed.
std::array<std::size_t, kMixLength> MakeMix() {
  std::array<std::size_t, kMixLength> mix{};
  std::size_t i = 0;
  for (auto [bytes, count] : {std::pair<std::size_t, int>{24, 19}, {40, 16}, {56, 10}, {72, 8},
                              {136, 6}, {264, 5}}) {
    for (int k = 0; k < count; ++k) mix[i++] = bytes;
  }
  std::shuffle(mix.begin(), mix.end(), std::mt19937(7));
  return mix;
}
const std::array<std::size_t, kMixLength> kMix = MakeMix();

PolicyOptions PoolOf(std::size_t capacity_slots) {
  PolicyOptions options;
  options.pool = {.capacity_slots = capacity_slots, .quiet = true};
  return options;
}

// bytes == 0: the mix. `make` builds a fresh policy.
template <class Make>
void AllocFree(benchmark::State& state, const Make& make, std::size_t bytes, bool touch) {
  std::optional<std::invoke_result_t<const Make&>> policy;
  try {
    policy.emplace(make());
  } catch (const std::exception& e) {  // a library that cannot be loaded here
    state.SkipWithError(e.what());
    return;
  }
  std::int64_t until_reset = kResetEvery;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t size = bytes != 0 ? bytes : kMix[i++ % kMixLength];
    void* p = policy->allocate(size);
    if (touch) *static_cast<volatile std::uint64_t*>(p) = size;
    benchmark::DoNotOptimize(std::as_const(p));
    policy->deallocate(p, size);
    if (--until_reset == 0) [[unlikely]] {
      state.PauseTiming();
      policy.reset();
      policy.emplace(make());
      until_reset = kResetEvery;
      state.ResumeTiming();
    }
  }
  const AllocStats& stats = policy->stats();
  stats.for_each_field([&](std::string_view name, std::uint64_t value) {
    state.counters[std::string(name)] = static_cast<double>(value);
  });
  state.counters["fallback_pct"] = FallbackPct(stats);
}

// Registers alloc_free/<prefix>/counted:<c>/bytes:<b> for every size in `sizes` (0: the mix).
template <Telemetry kTelemetry, class Make>
void Register(const std::string& prefix, Make make, std::initializer_list<std::size_t> sizes,
              bool touch = false) {
  for (std::size_t bytes : sizes) {
    const std::string name = "alloc_free/" + prefix +
                             "/counted:" + (kTelemetry == Telemetry::kOn ? "1" : "0") +
                             "/bytes:" + (bytes == 0 ? std::string("mix") : std::to_string(bytes));
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
      AllocFree(state, make, bytes, touch);
    });
  }
}

template <class Line, Telemetry kTelemetry>
void RegisterLine() {
  const std::string policy = "policy:" + std::string(Line::name);
  Register<kTelemetry>(
      policy, [] { return MakePolicy<Line, kTelemetry>(PoolOf(kPoolSlots)); },
      {24, 40, 72, 136, 264, 0});
  if constexpr (Line::owns_pool) {
    if (Line::name == "bump_pool") {
      Register<kTelemetry>(
          policy + "/touch:1", [] { return MakePolicy<Line, kTelemetry>(PoolOf(kPoolSlots)); },
          {0}, /*touch=*/true);
    }
    // Every fallback by name, through a pool that has no room at all.
    ForEachLine([&]<class Secondary>(std::type_identity<Secondary>) {
      if constexpr (Secondary::fallback_capable) {
        using Policy = BasicPolicy<
            typename Line::template backend_with<typename Secondary::backend_type>, kTelemetry>;
        Register<kTelemetry>(
            policy + "/fallback:" + std::string(Secondary::name) + "/pool_slots:0",
            [] {
              return Policy(Line::MakeBackend(PoolOf(0), Secondary::MakeBackend(PoolOf(0))));
            },
            {0});
      }
    });
  }
}

// Counted and uncounted side by side, line by line.
void RegisterAll() {
  ForEachLine([]<class Line>(std::type_identity<Line>) {
    RegisterLine<Line, Telemetry::kOn>();
    RegisterLine<Line, Telemetry::kOff>();
  });
}

}  // namespace
}  // namespace allocators

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);  // so that libjemalloc.so.2 can load
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("process_malloc", allocators::DetectProcessMalloc().Describe());
  allocators::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
