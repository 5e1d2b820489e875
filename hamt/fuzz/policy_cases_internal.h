// hamt/fuzz/policy_cases_internal.h: how policy_cases.h's cases are made, one shard at a time.
//
// Every shard walks the whole list of cases in order and counts each case's position, but makes
// (instantiates the decoder of operations.h for) only the cases whose policy type falls in its
// shard. policy_cases.cc puts the shards' cases back in position order, so the order does not
// depend on the sharding.
#ifndef HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_INTERNAL_H_
#define HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "allocators/registry.h"
#include "allocators/testing.h"
#include "hamt/fuzz/operations.h"
#include "hamt/fuzz/policy_cases.h"

namespace hamt::fuzz::internal {

// One translation unit per shard: policy_cases_shard<I>.cc.
inline constexpr std::size_t kShards = 3;

struct NumberedCase {
  std::size_t position;
  PolicyCase policy_case;
};

inline constexpr std::size_t kPoolSlots[] = {0, 16, 64, 256, 4096};

struct FaultCase {
  std::string_view policy;
  std::size_t pool_slots;
};
inline constexpr FaultCase kFaultCases[] = {{"slot_recycler", 64}, {"bump_pool", 16},
                                            {"mimalloc_heap", 0}};

constexpr bool IsFaultLine(std::string_view name) {
  for (const FaultCase& fault : kFaultCases) {
    if (fault.policy == name) return true;
  }
  return false;
}

template <class Line>
constexpr std::size_t LineIndex() {
  return []<class... Lines>(allocators::PolicyList<Lines...>) {
    std::size_t index = 0;
    std::size_t found = 0;
    ((std::is_same_v<Line, Lines> ? (found = index++) : index++), ...);
    return found;
  }(allocators::Registry{});
}

// The keys that pick a case's shard: one per policy type (a line's policy, its fault-injecting
// variant, the checked policies).
inline constexpr std::size_t kCheckedKey = allocators::Registry::size;
inline constexpr std::size_t kFaultCheckedKey = kCheckedKey + 1;
template <class Line>
inline constexpr std::size_t kLineKey = LineIndex<Line>();
template <class Line>
inline constexpr std::size_t kFaultLineKey = kFaultCheckedKey + 1 + LineIndex<Line>();

inline allocators::PolicyOptions PoolOf(std::size_t slots) {
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = slots, .quiet = true};
  return options;
}

template <std::size_t kShard>
class ShardBuilder {
 public:
  explicit ShardBuilder(std::vector<NumberedCase>& out) : out_(out) {}

  // The case at the next position; made only when its key falls in this shard.
  template <std::size_t kKey, class Policy, class Make>
  void Add(std::string name, std::string_view policy, std::string_view group,
           bool needs_static_tls, Make make) {
    if constexpr (kKey % kShards == kShard) {
      out_.push_back({position_,
                      {std::move(name), std::string(policy), std::string(group), needs_static_tls,
                       [make](const std::uint8_t* data, std::size_t size) {
                         return RunOperations<Policy>(data, size, make);
                       }}});
    }
    ++position_;
  }

 private:
  std::vector<NumberedCase>& out_;
  std::size_t position_ = 0;
};

template <std::size_t kShard>
void AppendShard(std::vector<NumberedCase>& out) {
  using allocators::MakePolicy;
  using allocators::PolicyOf;
  ShardBuilder<kShard> builder(out);
  auto add_line = [&]<class Line>(std::type_identity<Line>, std::string name, std::size_t slots) {
    builder.template Add<kLineKey<Line>, PolicyOf<Line>>(
        std::move(name), Line::name, allocators::FamilyName(Line::family), Line::needs_static_tls,
        [slots] { return MakePolicy<Line>(PoolOf(slots)); });
  };
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (Line::name == "malloc") add_line(line, "malloc", 0);
  });
  using Checked = allocators::CheckedSizePolicy<>;
  builder.template Add<kCheckedKey, Checked>("checked_size", "checked_size", "malloc", false,
                                             [] { return Checked(); });
  // The study's pools here, and any pool added to the registry later at the very end: a committed
  // corpus input names its case by index, so the indices of existing cases never move.
  auto add_pool = [&]<class Line>(std::type_identity<Line> line) {
    for (std::size_t slots : kPoolSlots) {
      add_line(line, std::string(Line::name) + "_" + std::to_string(slots), slots);
    }
  };
  constexpr auto is_study_pool = [](std::string_view name) {
    return name == "bump_pool" || name == "slot_recycler";
  };
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (Line::owns_pool && is_study_pool(Line::name)) add_pool(line);
  });
  using FaultChecked = allocators::FaultInjecting<Checked>;
  builder.template Add<kFaultCheckedKey, FaultChecked>("fault_checked_size", "checked_size",
                                                       "fault", false,
                                                       [] { return FaultChecked(); });
  for (const FaultCase& fault : kFaultCases) {
    allocators::ForEachLine([&]<class Line>(std::type_identity<Line>) {
      // A compile-time test: a run-time one would instantiate the decoder for a fault-injecting
      // variant of every line, most of them never used.
      if constexpr (IsFaultLine(Line::name)) {
        if (Line::name != fault.policy) return;
        using Faulty = allocators::FaultInjecting<PolicyOf<Line>>;
        const std::size_t slots = fault.pool_slots;
        builder.template Add<kFaultLineKey<Line>, Faulty>(
            "fault_" + std::string(Line::name) +
                (Line::owns_pool ? "_" + std::to_string(slots) : ""),
            Line::name, "fault", Line::needs_static_tls,
            [slots] { return Faulty(MakePolicy<Line>(PoolOf(slots))); });
      }
    });
  }
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (!Line::owns_pool && Line::name != "malloc") {
      add_line(line, std::string(Line::name), 0);
    }
  });
  allocators::ForEachLine([&]<class Line>(std::type_identity<Line> line) {
    if constexpr (Line::owns_pool && !is_study_pool(Line::name)) add_pool(line);
  });
}

// Made in policy_cases_shard<I>.cc only.
extern template void AppendShard<0>(std::vector<NumberedCase>&);
extern template void AppendShard<1>(std::vector<NumberedCase>&);
extern template void AppendShard<2>(std::vector<NumberedCase>&);
static_assert(kShards == 3, "one extern template and one policy_cases_shard<I>.cc per shard");

}  // namespace hamt::fuzz::internal

#endif  // HAMT_ALLOC_HAMT_FUZZ_POLICY_CASES_INTERNAL_H_
