// bazel run //experiments:noise_floor [-- Google Benchmark flags]
//
// The machine's own noise floor: how much the same fixed work varies from repetition to
// repetition here, with no allocator or trie involved. Run it before trusting a small difference in
// the allocator matrix or the side-by-side: no benchmark's coefficient of variation (CV) can be
// lower than the floor of the memory level its working set lives in.
//
// Probes, each one fixed amount of work per iteration:
//   alu              a multiply-add chain in registers (no memory): CPU frequency and time stolen
//                    from this vCPU;
//   chase/bytes:B    a dependent pointer chase through one random cycle over B bytes, 16 KiB (L1),
//                    512 KiB (L2), 16 MiB (L3) and 256 MiB (DRAM): adds cache and memory
//                    contention from other tenants of the host.
// By default: 20 repetitions of 0.1 s in one random interleaved order (as the allocator matrix
// runs), aggregates only on the console (mean, median, stddev, cv); every Google Benchmark flag
// can be given after `--` and wins over these defaults, e.g. --benchmark_repetitions=50 or
// --benchmark_out=floor.json. Pin with `taskset -c CPU` to match a pinned matrix run.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace {

constexpr std::int64_t kStepsPerIteration = 1 << 16;

void BM_Alu(benchmark::State& state) {
  std::uint64_t x = 1;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kStepsPerIteration; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      benchmark::DoNotOptimize(x);
    }
  }
  state.SetItemsProcessed(state.iterations() * kStepsPerIteration);
}
BENCHMARK(BM_Alu)->Name("alu");

// One random cyclic permutation of `bytes / 8` slots (Sattolo's algorithm), so the chase visits
// every slot before it repeats and the hardware prefetcher cannot guess the next one. Built once per
// size, on first use, outside the timed loop, and kept.
const std::vector<std::uint64_t>& Cycle(std::size_t bytes) {
  static std::map<std::size_t, std::unique_ptr<std::vector<std::uint64_t>>> cycles;
  auto& cycle = cycles[bytes];
  if (!cycle) {
    const std::size_t n = bytes / sizeof(std::uint64_t);
    std::vector<std::uint64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(42);
    for (std::size_t i = n - 1; i > 0; --i) {
      std::swap(order[i], order[std::uniform_int_distribution<std::size_t>(0, i - 1)(rng)]);
    }
    cycle = std::make_unique<std::vector<std::uint64_t>>(n);
    for (std::size_t i = 0; i < n; ++i) (*cycle)[order[i]] = order[(i + 1) % n];
  }
  return *cycle;
}

void BM_Chase(benchmark::State& state) {
  const std::vector<std::uint64_t>& next = Cycle(static_cast<std::size_t>(state.range(0)));
  std::uint64_t at = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kStepsPerIteration; ++i) at = next[at];
    benchmark::DoNotOptimize(at);
  }
  state.SetItemsProcessed(state.iterations() * kStepsPerIteration);
}
BENCHMARK(BM_Chase)
    ->Name("chase")
    ->ArgName("bytes")
    ->Arg(16 << 10)
    ->Arg(512 << 10)
    ->Arg(16 << 20)
    ->Arg(256 << 20);

}  // namespace

int main(int argc, char** argv) {
  // The defaults first, then the user's flags: Google Benchmark keeps the last value of a flag.
  std::vector<std::string> defaults = {"--benchmark_repetitions=20",
                                       "--benchmark_enable_random_interleaving=true",
                                       "--benchmark_min_time=0.1",
                                       "--benchmark_display_aggregates_only=true"};
  std::vector<char*> args = {argv[0]};
  for (std::string& flag : defaults) args.push_back(flag.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
