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
#ifndef HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_
#define HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "allocators/registry.h"
#include "allocators/testing.h"
#include "hamt/fuzz/operations.h"

namespace hamt::fuzz {

struct PolicyCase {
  std::string name;    // e.g. "slot_recycler_64"
  std::string policy;  // its registry line, or "checked_size"
  std::string group;   // the line's family, or "fault"
  bool needs_static_tls = false;
  // Decodes one input (without the fuzzer's policy byte) on a fresh map: "" or the mismatch.
  std::function<std::string(const std::uint8_t*, std::size_t)> run;
};

inline constexpr std::size_t kPoolSlots[] = {0, 16, 64, 256, 4096};

struct FaultCase {
  std::string_view policy;
  std::size_t pool_slots;
};
inline constexpr FaultCase kFaultCases[] = {{"slot_recycler", 64}, {"bump_pool", 16},
                                            {"mimalloc_heap", 0}};

namespace internal {

template <class Policy, class Make>
std::function<std::string(const std::uint8_t*, std::size_t)> Runner(Make make) {
  return [make](const std::uint8_t* data, std::size_t size) {
    return RunOperations<Policy>(data, size, make);
  };
}

inline allocators::PolicyOptions PoolOf(std::size_t slots) {
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = slots, .quiet = true};
  return options;
}

inline std::vector<PolicyCase> MakeCases() {
  using allocators::MakePolicy;
  using allocators::PolicyOf;
  std::vector<PolicyCase> cases;
  auto add_line = [&]<class Line>(std::type_identity<Line>, std::string name, std::size_t slots) {
    cases.push_back({std::move(name), std::string(Line::name),
                     std::string(allocators::FamilyName(Line::family)), Line::needs_static_tls,
                     Runner<PolicyOf<Line>>([slots] { return MakePolicy<Line>(PoolOf(slots)); })});
  };
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if (Line::name == "malloc") add_line(line, "malloc", 0);
  });
  using Checked = allocators::CheckedSizePolicy<>;
  cases.push_back({"checked_size", "checked_size", "malloc", false,
                   Runner<Checked>([] { return Checked(); })});
  // The study's pools here, and any pool added to the registry later at the very end: a committed
  // corpus input names its case by index, so the indices of existing cases never move.
  auto add_pool = [&]<class Line>(std::type_identity<Line> line) {
    for (std::size_t slots : kPoolSlots) {
      add_line(line, std::string(Line::name) + "_" + std::to_string(slots), slots);
    }
  };
  auto is_study_pool = [](std::string_view name) {
    return name == "bump_pool" || name == "slot_recycler";
  };
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (Line::owns_pool) {
      if (is_study_pool(Line::name)) add_pool(line);
    }
  });
  using FaultChecked = allocators::FaultInjecting<Checked>;
  cases.push_back({"fault_checked_size", "checked_size", "fault", false,
                   Runner<FaultChecked>([] { return FaultChecked(); })});
  for (const FaultCase& fault : kFaultCases) {
    allocators::ForEachLine([&]<class Line>(std::type_identity<Line>) {
      if (Line::name != fault.policy) return;
      using Faulty = allocators::FaultInjecting<PolicyOf<Line>>;
      const std::size_t slots = fault.pool_slots;
      cases.push_back({"fault_" + std::string(Line::name) +
                           (Line::owns_pool ? "_" + std::to_string(slots) : ""),
                       std::string(Line::name), "fault", Line::needs_static_tls,
                       Runner<Faulty>([slots] { return Faulty(MakePolicy<Line>(PoolOf(slots))); })});
    });
  }
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if (!Line::owns_pool && Line::name != "malloc") add_line(line, std::string(Line::name), 0);
  });
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (Line::owns_pool) {
      if (!is_study_pool(Line::name)) add_pool(line);
    }
  });
  return cases;
}

}  // namespace internal

inline const std::vector<PolicyCase>& PolicyCases() {
  static const std::vector<PolicyCase> cases = internal::MakeCases();
  return cases;
}

// The cases whose name, registry policy or group is `selector` (all of them for ""). A '-' in the
// selector reads as '_', so the hyphenated names of the first version still select.
inline std::vector<const PolicyCase*> SelectCases(std::string_view selector) {
  std::string wanted(selector);
  std::replace(wanted.begin(), wanted.end(), '-', '_');
  std::vector<const PolicyCase*> selected;
  for (const PolicyCase& c : PolicyCases()) {
    if (wanted.empty() || wanted == c.name || wanted == c.policy || wanted == c.group) {
      selected.push_back(&c);
    }
  }
  return selected;
}

}  // namespace hamt::fuzz

#endif  // HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_H_
