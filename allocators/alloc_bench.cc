// allocators/alloc_bench.cc: per-allocation cost of every policy: one allocate() and the matching
// deallocate() of a node-sized block per iteration, for fixed sizes and a HAMT-like mix.
//
// What this measures, honestly:
// - The pair pattern (allocate, then free at once) is the best case for allocators with LIFO free
//   lists (glibc's tcache, mimalloc, jemalloc/tcmalloc thread caches, the slot recycler): the same
//   hot block comes back every time. It is the allocator's fast path, not a workload.
// - The block is not written (`touch` variants write one word): allocator cost only. A bump pool
//   never reuses, so untouched it never faults its pages in; bump_pool_touched shows the cost of
//   first-touching fresh memory (page faults, amortized over the blocks per page).
// - Policies that never reuse memory (bump_pool, pmr_monotonic) are re-created every
//   kResetEvery iterations with the timer paused, so memory stays bounded; the pause costs ~0.01 ns
//   per iteration amortized.
// - bump_pool_fallback is a 0-slot pool: every allocation is the malloc fallback, the path the
//   reference study priced at ~150 ns (in a map under memory pressure, not in this hot loop).
//
// Run: bazel run -c opt //allocators:alloc_bench -- --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "allocators/bump_pool.h"
#include "allocators/jemalloc_arena_policy.h"
#include "allocators/jemalloc_policy.h"
#include "allocators/malloc_policy.h"
#include "allocators/mimalloc_heap_policy.h"
#include "allocators/mimalloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/slot_recycler.h"
#include "allocators/tcmalloc_policy.h"
#include "benchmark/benchmark.h"

namespace allocators {
namespace {

constexpr std::int64_t kResetEvery = 1 << 16;
constexpr std::size_t kMixLength = 64;

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

PoolOptions PoolFor(std::size_t capacity_slots) {
  PoolOptions options;
  options.capacity_slots = capacity_slots;
  options.quiet = true;
  return options;
}

// bytes == 0: the mix. `make` builds a fresh policy; `reset` says whether to rebuild it every
// kResetEvery iterations (policies that never reuse memory).
template <class P>
void AllocFree(benchmark::State& state, std::function<P()> make, std::size_t bytes, bool reset,
               bool touch) {
  std::optional<P> policy(make());
  std::int64_t until_reset = kResetEvery;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t size = bytes != 0 ? bytes : kMix[i++ % kMixLength];
    void* p = policy->allocate(size);
    if (touch) *static_cast<volatile std::uint64_t*>(p) = size;
    benchmark::DoNotOptimize(std::as_const(p));
    policy->deallocate(p, size);
    if (reset && --until_reset == 0) [[unlikely]] {
      state.PauseTiming();
      policy.reset();
      policy.emplace(make());
      until_reset = kResetEvery;
      state.ResumeTiming();
    }
  }
  state.counters["live_bytes_end"] = static_cast<double>(policy->stats().live_bytes);
  state.counters["fallback_pct"] = FallbackPct(policy->stats());
}

template <class P>
void Register(const std::string& policy, std::function<P()> make, bool reset = false,
              bool touch = false) {
  for (std::size_t bytes : {24, 40, 72, 136, 264, 0}) {
    const std::string name = "alloc_free/" + policy + "/" +
                             (bytes == 0 ? std::string("mix") : "bytes:" + std::to_string(bytes));
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
      AllocFree<P>(state, make, bytes, reset, touch);
    });
  }
}

void RegisterAll() {
  // Enough slots for kResetEvery blocks of the largest size (264 B = 33 slots).
  constexpr std::size_t kPoolSlots = kResetEvery * 33;
  Register<MallocPolicy>("malloc", [] { return MallocPolicy(); });
  Register<MimallocPolicy>("mimalloc", [] { return MimallocPolicy(); });
  Register<MimallocHeapPolicy>("mimalloc_heap", [] { return MimallocHeapPolicy(); });
  Register<JemallocPolicy>("jemalloc", [] { return JemallocPolicy(); });
  Register<JemallocArenaPolicy>("jemalloc_arena", [] { return JemallocArenaPolicy(); });
  Register<TcmallocPolicy>("tcmalloc", [] { return TcmallocPolicy(); });
  Register<PmrMonotonicPolicy>("pmr_monotonic", [] { return PmrMonotonicPolicy(); }, true);
  Register<PmrPoolPolicy>("pmr_pool", [] { return PmrPoolPolicy(); });
  Register<BumpPool>("bump_pool", [] { return BumpPool(PoolFor(kPoolSlots)); }, true);
  Register<BumpPool>("bump_pool_touched", [] { return BumpPool(PoolFor(kPoolSlots)); }, true, true);
  Register<BumpPool>("bump_pool_fallback", [] { return BumpPool(PoolFor(0)); });
  Register<SlotRecycler>("slot_recycler", [] { return SlotRecycler(PoolFor(kPoolSlots)); });
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
