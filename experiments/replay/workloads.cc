#include "experiments/replay/workloads.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "allocators/process_malloc.h"
#include "allocators/recorded.h"
#include "allocators/trace/recorder.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/run_metadata.h"
#include "experiments/common/stable_hash.h"
#include "experiments/common/study_map.h"
#include "experiments/common/workload_keys.h"
#include "experiments/replay/trace_header.h"
#include "hamt/hamt.h"

namespace experiments::replay {
namespace {

using Key = std::int64_t;
// Interrupts are honoured between chunks of this many operations.
constexpr std::uint64_t kChunk = 1 << 16;

// Every allocation's size follows from these: the map type and its node layout.
std::string NodeLayout() {
  using Layout = hamt::internal::NodeLayout<hamt::internal::Entry<Key, std::int64_t>>;
  return absl::StrCat("hamt::Map<int64_t, int64_t> ExactNodes: ", Layout::Bytes(0, 0),
                      " B header + ", Layout::Bytes(1, 0) - Layout::Bytes(0, 0),
                      " B per child + ", Layout::Bytes(0, 1) - Layout::Bytes(0, 0),
                      " B per entry; ", 1u << hamt::internal::kBitsPerLevel, "-way nodes, ",
                      hamt::internal::kHashBits, "-bit hash");
}

// The operations of `workload`, each stamped with the next clock value.
template <class Map>
std::uint64_t RunOperations(Workload workload, std::uint64_t n, Map& map,
                            allocators::trace::Recorder& recorder,
                            allocators::AllocStats& after_build) {
  std::uint64_t clock = 0;
  auto tick = [&] {
    if (clock % kChunk == 0) ThrowIfInterrupted();
    recorder.set_clock(clock++);
  };
  const auto keys = static_cast<Key>(n);
  switch (workload) {
    case Workload::kStudyBuild: {
      for (Key i = 0; i < keys; ++i) {
        tick();
        map.insert_or_assign(i, StudyValue(i));
      }
      after_build = map.allocator().stats();
      for (Key i = 0; i < keys; ++i) {
        tick();
        const std::int64_t* value = map.find(i);
        if (value == nullptr || *value != StudyValue(i)) {
          throw std::runtime_error(absl::StrCat("study_build: wrong value for key ", i));
        }
      }
      break;
    }
    case Workload::kInsertSeq:
    case Workload::kInsertShuffled: {
      std::vector<Key> order;
      if (workload == Workload::kInsertShuffled) {
        order = ShuffledKeys(n);
      } else {
        for (Key i = 0; i < keys; ++i) order.push_back(i);
      }
      for (Key k : order) {
        tick();
        map.insert_or_assign(k, MatrixValue(k));
      }
      after_build = map.allocator().stats();
      break;
    }
    case Workload::kEraseAll: {
      const std::vector<Key> order = ShuffledKeys(n);
      for (Key k : order) {
        tick();
        map.insert_or_assign(k, MatrixValue(k));
      }
      after_build = map.allocator().stats();
      for (Key k : order) {
        tick();
        if (!map.erase(k)) throw std::runtime_error(absl::StrCat("erase_all: key ", k, " missing"));
      }
      break;
    }
  }
  if (map.size() != (workload == Workload::kEraseAll ? 0 : n)) {
    throw std::runtime_error(absl::StrCat(WorkloadName(workload), ": map size ", map.size()));
  }
  recorder.set_clock(clock++);  // the destruction, which the caller does next
  return clock;
}

}  // namespace

absl::string_view WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kStudyBuild: return "study_build";
    case Workload::kInsertSeq: return "insert_seq";
    case Workload::kInsertShuffled: return "insert_shuffled";
    case Workload::kEraseAll: return "erase_all";
  }
  return "?";
}

Recording RecordWorkload(Workload workload, std::uint64_t n, std::uint64_t seed,
                         const std::string& policy, const allocators::PolicyOptions& options) {
  Recording recording;
  allocators::trace::Recorder recorder;
  std::uint64_t operations = 0;
  allocators::WithPolicy(policy, options, [&](auto made) {
    using Policy = allocators::Recorded<decltype(made)>;
    // The map's destruction is recorded too: it is part of the traffic (and frees every block).
    StudyMap<Policy> map(StableHash{seed}, std::equal_to<Key>(), Policy(std::move(made), recorder));
    operations = RunOperations(workload, n, map, recorder, recording.stats_after_build);
  });
  recording.trace.events = recorder.take_events();

  using F = schema::TraceHeader::Field;
  const std::string process_malloc = allocators::DetectProcessMalloc().NameAndVersion();
  const TraceHeader header = RecordFrom<schema::TraceHeader>([&](F field) -> Value {
    switch (field) {  // no default: a new schema field must be written here
      case F::kWorkload: return std::string(WorkloadName(workload));
      case F::kN: return static_cast<std::int64_t>(n);
      case F::kSeed: return static_cast<std::int64_t>(seed);
      case F::kHash: return std::string("StableHash (MurmurHash3 fmix64 of key + fmix64(seed))");
      case F::kNodeLayout: return NodeLayout();
      case F::kMapOperations: return static_cast<std::int64_t>(operations);
      case F::kRecordedPolicy: return policy;
      case F::kGitCommit: return GitCommit();
      case F::kProcessMalloc: return process_malloc;
    }
    throw SchemaError("trace_header: unknown field");
  });
  recording.trace.metadata = EncodeTraceHeader(header);
  return recording;
}

}  // namespace experiments::replay
