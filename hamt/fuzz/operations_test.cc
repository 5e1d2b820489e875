// The differential decoder of hamt/fuzz/operations.h as a plain test: fixed pseudo-random inputs
// and the seed corpus, on every policy the fuzzer drives. Runs with g++ (the default toolchain)
// and under --config=asan / --config=ubsan, where libFuzzer is not available.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/jemalloc_arena_policy.h"
#include "allocators/jemalloc_policy.h"
#include "allocators/malloc_policy.h"
#include "allocators/mimalloc_heap_policy.h"
#include "allocators/mimalloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/slot_recycler.h"
#include "allocators/tcmalloc_policy.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/fuzz/operations.h"
#include "hamt/internal/testing_policies.h"

namespace {

using hamt::fuzz::FaultInjectingPolicy;
using hamt::fuzz::RunOperations;

allocators::PoolOptions Pool(std::size_t slots) {
  return allocators::PoolOptions{.capacity_slots = slots, .quiet = true};
}

struct Input {
  std::string name;
  std::vector<std::uint8_t> bytes;  // without the fuzzer's policy byte
};

// 200 inputs from a fixed-seed generator. Lengths span empty to 3000 bytes; a third of them use
// a skewed byte distribution (few distinct operation bytes), which random bytes rarely produce.
std::vector<Input> GeneratedInputs() {
  std::mt19937_64 rng(20240601);
  std::vector<Input> inputs;
  for (int i = 0; i < 200; ++i) {
    const std::size_t length = i < 20 ? i : (i < 150 ? rng() % 600 : rng() % 3000);
    Input input{"generated #" + std::to_string(i), {}};
    const bool skewed = i % 3 == 0;
    const std::uint8_t alphabet[] = {0x00, 0x01, 0x04, 0x05, 0x09, 0x0a, 0x0f, 0x1f, 0x2f,
                                     0x0d, 0x1d, 0x03, 0x07, 0x0c, 0x08, 0x0b};
    for (std::size_t j = 0; j < length; ++j) {
      const bool body = j >= 26;  // past the setup, key-range and hash-table bytes
      input.bytes.push_back(skewed && body && rng() % 2 == 0 ? alphabet[rng() % 16]
                                                             : static_cast<std::uint8_t>(rng()));
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

// The fuzzer's seed corpus (data dependency), minus each file's policy byte.
std::vector<Input> CorpusInputs() {
  std::vector<Input> inputs;
  for (const auto& entry : std::filesystem::directory_iterator("hamt/fuzz/corpus")) {
    std::ifstream file(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                    std::istreambuf_iterator<char>());
    if (bytes.empty()) continue;
    inputs.push_back({"corpus " + entry.path().filename().string(),
                      std::vector<std::uint8_t>(bytes.begin() + 1, bytes.end())});
  }
  return inputs;
}

const std::vector<Input>& AllInputs() {
  static const std::vector<Input> inputs = [] {
    std::vector<Input> all = GeneratedInputs();
    std::vector<Input> corpus = CorpusInputs();
    all.insert(all.end(), corpus.begin(), corpus.end());
    return all;
  }();
  return inputs;
}

template <class Policy, class MakePolicy>
void RunAll(MakePolicy make_policy) {
  int run = 0;
  for (const Input& input : AllInputs()) {
    const std::string error =
        RunOperations<Policy>(input.bytes.data(), input.bytes.size(), make_policy);
    ASSERT_EQ(error, "") << input.name;
    ++run;
  }
  EXPECT_GT(run, 200);  // the corpus was found
}

TEST(OperationsTest, CorpusIsPresent) { EXPECT_GE(CorpusInputs().size(), 5u); }

TEST(OperationsTest, Malloc) {
  RunAll<allocators::MallocPolicy>([] { return allocators::MallocPolicy(); });
}

TEST(OperationsTest, CheckedSize) {
  using hamt::testing::CheckedSizePolicy;
  RunAll<CheckedSizePolicy>([] { return CheckedSizePolicy(); });
}

TEST(OperationsTest, BumpPoolSmall) {
  RunAll<allocators::BumpPool>([] { return allocators::BumpPool(Pool(16)); });
}

TEST(OperationsTest, BumpPoolLarge) {
  RunAll<allocators::BumpPool>([] { return allocators::BumpPool(Pool(4096)); });
}

TEST(OperationsTest, SlotRecyclerSmall) {
  RunAll<allocators::SlotRecycler>([] { return allocators::SlotRecycler(Pool(64)); });
}

TEST(OperationsTest, SlotRecyclerLarge) {
  RunAll<allocators::SlotRecycler>([] { return allocators::SlotRecycler(Pool(4096)); });
}

// allocators/testing.h's checker around the pools: blocks distinct and aligned, sizes matched.
TEST(OperationsTest, CheckedSlotRecycler) {
  using P = allocators::CheckedSizePolicy<allocators::SlotRecycler>;
  RunAll<P>([] { return P(Pool(256)); });
}

TEST(OperationsTest, CheckedBumpPoolEmpty) {
  using P = allocators::CheckedSizePolicy<allocators::BumpPool>;
  RunAll<P>([] { return P(Pool(0)); });
}

TEST(OperationsTest, FaultInjection) {
  using hamt::testing::CheckedSizePolicy;
  using P = FaultInjectingPolicy<CheckedSizePolicy>;
  RunAll<P>([] { return P(CheckedSizePolicy()); });
}

TEST(OperationsTest, FaultInjectionSlotRecycler) {
  using P = FaultInjectingPolicy<allocators::SlotRecycler>;
  RunAll<P>([] { return P(allocators::SlotRecycler(Pool(64))); });
}

// The allocator libraries' own APIs, loaded privately (jemalloc needs the static-TLS tunable: the
// test's env in BUILD).
template <class Policy>
void RunAllDefault() {
  RunAll<Policy>([] { return Policy(); });
}

TEST(OperationsTest, Mimalloc) { RunAllDefault<allocators::MimallocPolicy>(); }
TEST(OperationsTest, MimallocHeap) { RunAllDefault<allocators::MimallocHeapPolicy>(); }
TEST(OperationsTest, Jemalloc) { RunAllDefault<allocators::JemallocPolicy>(); }
TEST(OperationsTest, JemallocArena) { RunAllDefault<allocators::JemallocArenaPolicy>(); }
TEST(OperationsTest, Tcmalloc) { RunAllDefault<allocators::TcmallocPolicy>(); }
TEST(OperationsTest, PmrMonotonic) { RunAllDefault<allocators::PmrMonotonicPolicy>(); }
TEST(OperationsTest, PmrPool) { RunAllDefault<allocators::PmrPoolPolicy>(); }

TEST(OperationsTest, FaultInjectionMimallocHeap) {
  using P = FaultInjectingPolicy<allocators::MimallocHeapPolicy>;
  RunAll<P>([] { return P(allocators::MimallocHeapPolicy()); });
}

// The decoder must be able to report: a policy that leaks a live block's bytes from its
// telemetry is caught by the live-bytes checks.
class MiscountingPolicy {
 public:
  [[nodiscard]] void* allocate(std::size_t bytes) { return inner_.allocate(bytes); }
  void deallocate(void* p, std::size_t bytes) noexcept {
    // Tells the telemetry one byte less than it frees, every 50th time.
    inner_.deallocate(p, bytes);
    if (++frees_ % 50 == 0) stats_offset_ += 1;
  }
  const allocators::AllocStats& stats() const {
    shown_ = inner_.stats();
    shown_.live_bytes += stats_offset_;
    return shown_;
  }

 private:
  allocators::MallocPolicy inner_;
  int frees_ = 0;
  std::uint64_t stats_offset_ = 0;
  mutable allocators::AllocStats shown_;
};

TEST(OperationsTest, ReportsAMismatch) {
  int failures = 0;
  for (const Input& input : AllInputs()) {
    const std::string error = RunOperations<MiscountingPolicy>(
        input.bytes.data(), input.bytes.size(), [] { return MiscountingPolicy(); });
    if (!error.empty()) {
      ++failures;
      EXPECT_NE(error.find("MISMATCH"), std::string::npos) << error;
    }
  }
  EXPECT_GT(failures, 10);
}

}  // namespace
