// hamt/fuzz/map_fuzzer.cc: libFuzzer entry point for the differential HAMT fuzzer.
//
// Byte 0 picks the allocator policy (below), the rest is decoded by hamt/fuzz/operations.h. Any
// disagreement with the model, any invariant violation, and any CheckedSizePolicy complaint
// (wrong-size or double free, leak) aborts with a message, so libFuzzer saves the input as
// crash-<sha1>. Build and run: see hamt/fuzz/README.md.
//
// HAMT_FUZZ_POLICY=<group or policy name> (malloc, bump, recycler, fault, library, pmr, or e.g.
// recycler-16) restricts byte 0 to that group or policy, for long sessions that spend their time
// on one of them.
//
// The mimalloc, jemalloc and tcmalloc policies use those libraries' own APIs, loaded privately
// with dlopen (allocators/private_library.h), so malloc stays AddressSanitizer's. jemalloc needs
// the static-TLS tunable, so LLVMFuzzerInitialize re-executes the fuzzer with it when a jemalloc
// policy is selected.
#if !defined(__clang__)
#error "map_fuzzer needs clang's libFuzzer: bazel build --config=fuzz //hamt/fuzz:map_fuzzer (see hamt/fuzz/README.md)"
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/jemalloc_arena_policy.h"
#include "allocators/jemalloc_policy.h"
#include "allocators/malloc_policy.h"
#include "allocators/mimalloc_heap_policy.h"
#include "allocators/mimalloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/private_library.h"
#include "allocators/slot_recycler.h"
#include "allocators/tcmalloc_policy.h"
#include "gtest/gtest.h"
#include "hamt/fuzz/operations.h"
#include "hamt/internal/testing_policies.h"

namespace {

using hamt::fuzz::FaultInjectingPolicy;
using hamt::fuzz::RunOperations;
using hamt::testing::CheckedSizePolicy;

allocators::PoolOptions Pool(std::size_t slots) {
  return allocators::PoolOptions{.capacity_slots = slots, .quiet = true};
}

struct PolicyCase {
  const char* name;
  const char* group;
  std::string (*run)(const std::uint8_t* data, std::size_t size);
};

template <std::size_t kSlots>
std::string RunBump(const std::uint8_t* data, std::size_t size) {
  return RunOperations<allocators::BumpPool>(data, size,
                                             [] { return allocators::BumpPool(Pool(kSlots)); });
}

// A policy that needs no arguments.
template <class Policy>
std::string RunDefault(const std::uint8_t* data, std::size_t size) {
  return RunOperations<Policy>(data, size, [] { return Policy(); });
}

template <std::size_t kSlots>
std::string RunRecycler(const std::uint8_t* data, std::size_t size) {
  return RunOperations<allocators::SlotRecycler>(
      data, size, [] { return allocators::SlotRecycler(Pool(kSlots)); });
}

// Pool capacities 0, 16, 64, 256 and 4096 slots: from "everything falls back to malloc" through
// exhaustion after a few nodes to never exhausted by these small maps.
const PolicyCase kPolicies[] = {
    {"malloc", "malloc", RunDefault<allocators::MallocPolicy>},
    {"checked-size", "malloc", RunDefault<CheckedSizePolicy>},
    {"bump-0", "bump", RunBump<0>},
    {"bump-16", "bump", RunBump<16>},
    {"bump-64", "bump", RunBump<64>},
    {"bump-256", "bump", RunBump<256>},
    {"bump-4096", "bump", RunBump<4096>},
    {"recycler-0", "recycler", RunRecycler<0>},
    {"recycler-16", "recycler", RunRecycler<16>},
    {"recycler-64", "recycler", RunRecycler<64>},
    {"recycler-256", "recycler", RunRecycler<256>},
    {"recycler-4096", "recycler", RunRecycler<4096>},
    {"fault-checked-size", "fault",
     [](const std::uint8_t* data, std::size_t size) {
       using P = FaultInjectingPolicy<CheckedSizePolicy>;
       return RunOperations<P>(data, size, [] { return P(CheckedSizePolicy()); });
     }},
    {"fault-recycler-64", "fault",
     [](const std::uint8_t* data, std::size_t size) {
       using P = FaultInjectingPolicy<allocators::SlotRecycler>;
       return RunOperations<P>(data, size, [] { return P(allocators::SlotRecycler(Pool(64))); });
     }},
    {"fault-bump-16", "fault",
     [](const std::uint8_t* data, std::size_t size) {
       using P = FaultInjectingPolicy<allocators::BumpPool>;
       return RunOperations<P>(data, size, [] { return P(allocators::BumpPool(Pool(16))); });
     }},
    {"fault-mimalloc-heap", "fault",
     [](const std::uint8_t* data, std::size_t size) {
       using P = FaultInjectingPolicy<allocators::MimallocHeapPolicy>;
       return RunOperations<P>(data, size, [] { return P(allocators::MimallocHeapPolicy()); });
     }},
    // The allocator libraries' own APIs (a heap / an arena per map where the library has them).
    {"mimalloc", "library", RunDefault<allocators::MimallocPolicy>},
    {"mimalloc-heap", "library", RunDefault<allocators::MimallocHeapPolicy>},
    {"jemalloc", "library", RunDefault<allocators::JemallocPolicy>},
    {"jemalloc-arena", "library", RunDefault<allocators::JemallocArenaPolicy>},
    {"tcmalloc", "library", RunDefault<allocators::TcmallocPolicy>},
    // std::pmr resources behind the policy interface.
    {"pmr-monotonic", "pmr", RunDefault<allocators::PmrMonotonicPolicy>},
    {"pmr-pool", "pmr", RunDefault<allocators::PmrPoolPolicy>},
};

bool NeedsJemalloc(const PolicyCase& policy) {
  return std::strncmp(policy.name, "jemalloc", 8) == 0;
}

std::vector<const PolicyCase*>& Selected() {
  static std::vector<const PolicyCase*> selected;
  return selected;
}

// CheckedSizePolicy reports through gtest (ADD_FAILURE); outside a test that only prints. Turn
// every failure into a crash that libFuzzer records.
class AbortOnFailure : public testing::EmptyTestEventListener {
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "hamt fuzz: gtest failure at %s:%d: %s\n",
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
    std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  testing::UnitTest::GetInstance()->listeners().Append(new AbortOnFailure);
  const char* group = std::getenv("HAMT_FUZZ_POLICY");
  bool needs_jemalloc = false;
  for (const PolicyCase& policy : kPolicies) {
    if (group == nullptr || *group == '\0' || std::strcmp(group, policy.group) == 0 ||
        std::strcmp(group, policy.name) == 0) {
      Selected().push_back(&policy);
      needs_jemalloc |= NeedsJemalloc(policy);
    }
  }
  if (Selected().empty()) {
    std::fprintf(stderr, "hamt fuzz: HAMT_FUZZ_POLICY=%s matches no policy or group\n", group);
    std::exit(2);
  }
  // Returns only in a process that can dlopen jemalloc (or after printing why it cannot).
  if (needs_jemalloc) allocators::ReexecWithStaticTlsIfNeeded(*argc, *argv);
  // Load every selected library now, so that a missing one is one clear message, not a "crash"
  // that libFuzzer would save as an input.
  static const std::uint8_t kEmptyInput[1] = {0};
  for (const PolicyCase* policy : Selected()) {
    try {
      const std::string error = policy->run(kEmptyInput, sizeof(kEmptyInput));
      if (!error.empty()) {
        std::fprintf(stderr, "hamt fuzz: policy %s fails on the empty input: %s\n", policy->name,
                     error.c_str());
        std::exit(2);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "hamt fuzz: policy %s is unavailable: %s (set HAMT_FUZZ_POLICY to fuzz the "
                   "others)\n",
                   policy->name, e.what());
      std::exit(2);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const PolicyCase& policy = *Selected()[data[0] % Selected().size()];
  const std::string error = policy.run(data + 1, size - 1);
  if (!error.empty()) {
    std::fprintf(stderr, "hamt fuzz: policy %s: %s\n", policy.name, error.c_str());
    std::abort();
  }
  return 0;
}
