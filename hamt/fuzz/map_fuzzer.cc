// hamt/fuzz/map_fuzzer.cc: libFuzzer entry point for the differential HAMT fuzzer.
//
// Byte 0 picks the policy case (policy_cases.h: every allocator registry line, pools at five
// capacities, checked and fault-injecting wrappers), the rest is decoded by hamt/fuzz/operations.h.
// Any disagreement with the model, any invariant violation, and any CheckedSizePolicy complaint
// (wrong-size or double free, leak) aborts with a message, so libFuzzer saves the input as
// crash-<sha1>. Build and run: see hamt/fuzz/README.md.
//
// HAMT_FUZZ_POLICY=<case, registry policy or group> (e.g. slot_recycler_16, slot_recycler, pool,
// fault, library, pmr, malloc) restricts byte 0 to the matching cases, for long sessions that
// spend their time on one of them.
//
// The mimalloc, jemalloc and tcmalloc policies use those libraries' own APIs, loaded privately
// with dlopen (allocators/private_library.h), so malloc stays AddressSanitizer's. jemalloc needs
// the static-TLS tunable, so LLVMFuzzerInitialize re-executes the fuzzer with it when a case that
// needs it is selected.
#if !defined(__clang__)
#error "map_fuzzer needs clang's libFuzzer: bazel build --config=fuzz //hamt/fuzz:map_fuzzer (see hamt/fuzz/README.md)"
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "allocators/private_library.h"
#include "gtest/gtest.h"
#include "hamt/fuzz/policy_cases.h"

namespace {

using hamt::fuzz::PolicyCase;

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
  const char* selector = std::getenv("HAMT_FUZZ_POLICY");
  Selected() = hamt::fuzz::SelectCases(selector == nullptr ? "" : selector);
  if (Selected().empty()) {
    std::fprintf(stderr, "hamt fuzz: HAMT_FUZZ_POLICY=%s matches no case, policy or group\n",
                 selector);
    std::exit(2);
  }
  bool needs_static_tls = false;
  for (const PolicyCase* policy : Selected()) needs_static_tls |= policy->needs_static_tls;
  // Returns only in a process that can dlopen jemalloc (or after printing why it cannot).
  if (needs_static_tls) allocators::ReexecWithStaticTlsIfNeeded(*argc, *argv);
  // Load every selected library now, so that a missing one is one clear message, not a "crash"
  // that libFuzzer would save as an input.
  static const std::uint8_t kEmptyInput[1] = {0};
  for (const PolicyCase* policy : Selected()) {
    try {
      const std::string error = policy->run(kEmptyInput, sizeof(kEmptyInput));
      if (!error.empty()) {
        std::fprintf(stderr, "hamt fuzz: policy %s fails on the empty input: %s\n",
                     policy->name.c_str(), error.c_str());
        std::exit(2);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "hamt fuzz: policy %s is unavailable: %s (set HAMT_FUZZ_POLICY to fuzz the "
                   "others)\n",
                   policy->name.c_str(), e.what());
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
    std::fprintf(stderr, "hamt fuzz: policy %s: %s\n", policy.name.c_str(), error.c_str());
    std::abort();
  }
  return 0;
}
