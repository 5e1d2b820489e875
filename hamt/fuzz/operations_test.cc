// The differential decoder of hamt/fuzz/operations.h as a plain test: fixed pseudo-random inputs
// and the seed corpus, on every policy case the fuzzer drives (policy_cases.h, from the allocator
// registry). Runs with g++ (the default toolchain) and under --config=asan / --config=ubsan, where
// libFuzzer is not available.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/malloc_policy.h"
#include "allocators/slot_recycler.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"
#include "hamt/fuzz/operations.h"
#include "hamt/fuzz/policy_cases.h"

namespace {

using hamt::fuzz::PolicyCases;
using hamt::fuzz::RunOperations;
using hamt::fuzz::SelectCases;

allocators::PoolOptions Pool(std::size_t slots) {
  return allocators::PoolOptions{.capacity_slots = slots, .quiet = true};
}

struct Input {
  std::string name;
  std::vector<std::uint8_t> bytes;  // without the fuzzer's policy byte
};

// Inputs from a fixed-seed generator: 200 for hamt::Map and 100 for hamt::PersistentMap, the mode
// forced by bit 3 of the key-range byte (left to chance, it would halve the Map inputs). Lengths
// span empty to 3000 bytes; a third of them use a skewed byte distribution (few distinct operation
// bytes), which random bytes rarely produce.
std::vector<Input> GeneratedInputs() {
  std::vector<Input> inputs;
  auto generate = [&](int count, std::uint64_t seed, bool persistent) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < count; ++i) {
      const std::size_t length = i < 20 ? i : (i < 150 ? rng() % 600 : rng() % 3000);
      Input input{std::string(persistent ? "generated persistent #" : "generated #") +
                      std::to_string(i),
                  {}};
      const bool skewed = i % 3 == 0;
      const std::uint8_t alphabet[] = {0x00, 0x01, 0x04, 0x05, 0x09, 0x0a, 0x0f, 0x1f, 0x2f,
                                       0x0d, 0x1d, 0x03, 0x07, 0x0c, 0x08, 0x0b};
      for (std::size_t j = 0; j < length; ++j) {
        const bool body = j >= 26;  // past the setup, key-range and hash-table bytes
        input.bytes.push_back(skewed && body && rng() % 2 == 0 ? alphabet[rng() % 16]
                                                               : static_cast<std::uint8_t>(rng()));
      }
      if (input.bytes.size() > 1) {
        input.bytes[1] = persistent ? (input.bytes[1] | 8) : (input.bytes[1] & ~8);
      }
      inputs.push_back(std::move(input));
    }
  };
  generate(200, 20240601, false);
  generate(100, 20261130, true);
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

template <class Run>
void RunAll(Run run) {
  int count = 0;
  for (const Input& input : AllInputs()) {
    const std::string error = run(input.bytes.data(), input.bytes.size());
    ASSERT_EQ(error, "") << input.name;
    ++count;
  }
  EXPECT_GT(count, 300);  // the corpus was found
}

TEST(OperationsTest, CorpusIsPresent) { EXPECT_GE(CorpusInputs().size(), 5u); }

// The allocator libraries' own APIs are among the cases; jemalloc needs the static-TLS tunable
// (the test's env in BUILD).
class EveryFuzzerPolicy : public ::testing::TestWithParam<std::size_t> {};

TEST_P(EveryFuzzerPolicy, AgreesWithTheModel) { RunAll(PolicyCases()[GetParam()].run); }

INSTANTIATE_TEST_SUITE_P(Operations, EveryFuzzerPolicy,
                         ::testing::Range<std::size_t>(0, PolicyCases().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return PolicyCases()[info.param].name;
                         });

// The first cases are the ones the seed corpus's policy bytes name (make_corpus.py).
TEST(OperationsTest, CorpusPolicyIndicesAreStable) {
  const std::vector<std::string> expected = {"malloc", "checked_size", "bump_pool_0",
                                             "bump_pool_16", "bump_pool_64", "bump_pool_256",
                                             "bump_pool_4096", "slot_recycler_0",
                                             "slot_recycler_16", "slot_recycler_64",
                                             "slot_recycler_256", "slot_recycler_4096",
                                             "fault_checked_size", "fault_slot_recycler_64",
                                             "fault_bump_pool_16", "fault_mimalloc_heap"};
  ASSERT_GE(PolicyCases().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(PolicyCases()[i].name, expected[i]);
}

TEST(OperationsTest, SelectionByNamePolicyOrGroup) {
  EXPECT_EQ(SelectCases("").size(), PolicyCases().size());
  EXPECT_EQ(SelectCases("slot_recycler").size(), 5u + 1u);  // 5 capacities and its fault case
  EXPECT_EQ(SelectCases("fault").size(), 4u);
  ASSERT_EQ(SelectCases("jemalloc-arena").size(), 1u);  // the hyphenated name of the first version
  EXPECT_EQ(SelectCases("jemalloc-arena")[0]->name, "jemalloc_arena");
  EXPECT_TRUE(SelectCases("no_such_policy").empty());
}

// allocators/testing.h's checker around the pools: blocks distinct and aligned, sizes matched.
TEST(OperationsTest, CheckedSlotRecycler) {
  using P = allocators::CheckedSizePolicy<allocators::SlotRecycler>;
  RunAll([](const std::uint8_t* data, std::size_t size) {
    return RunOperations<P>(data, size, [] { return P(Pool(256)); });
  });
}

TEST(OperationsTest, CheckedBumpPoolEmpty) {
  using P = allocators::CheckedSizePolicy<allocators::BumpPool>;
  RunAll([](const std::uint8_t* data, std::size_t size) {
    return RunOperations<P>(data, size, [] { return P(Pool(0)); });
  });
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
