// hamt/fuzz/policy_cases.h: the policies that the fuzzer (map_fuzzer.cc) and its gtest twin
// (operations_test.cc) run the decoder of operations.h on, made from the allocator registry
// (allocators/registry.h): a new registry line becomes a fuzz case here without an edit.
//
// The cases, in the fuzzer's byte-0 order (the seed corpus, make_corpus.py, names indices 0 to 15,
// so new cases only ever go at the end):
//   0      malloc                       the registry's malloc line
//   1      checked_size                 CheckedSizePolicy<> (allocators/testing.h): sized-free,
//                                       double-free and leak checks
//   2..    <pool>_<slots>               every pool line at 0, 16, 64, 256 and 4096 slots: from
//                                       "everything falls back" through exhaustion after a few
//                                       nodes to never exhausted by these small maps
//   then   fault_<...>                  FaultInjecting<> around checked_size, slot_recycler_64,
//                                       bump_pool_16 and mimalloc_heap
//   then   <line>                       every other registry line, in registry order
// Groups (HAMT_FUZZ_POLICY): the registry family (malloc, library, pmr, pool) or fault.
//
// The decoder instantiated for every policy is the slowest compile of the project, so the cases are
// built in kShards translation units (policy_cases_internal.h) that compile in parallel.
#ifndef HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_
#define HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hamt::fuzz {

struct PolicyCase {
  std::string name;    // e.g. "slot_recycler_64"
  std::string policy;  // its registry line, or "checked_size"
  std::string group;   // the line's family, or "fault"
  bool needs_static_tls = false;
  // Decodes one input (without the fuzzer's policy byte) on a fresh map: "" or the mismatch.
  std::function<std::string(const std::uint8_t*, std::size_t)> run;
};

// Every case, in the order above.
const std::vector<PolicyCase>& PolicyCases();

// The cases whose name, registry policy or group is `selector` (all of them for ""). A '-' in the
// selector reads as '_', so the hyphenated names of the first version still select.
std::vector<const PolicyCase*> SelectCases(std::string_view selector);

}  // namespace hamt::fuzz

#endif  // HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_
