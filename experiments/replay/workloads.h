// experiments/replay/workloads.h: the experiments' workloads, run once on a map whose policy
// records every allocation and free (allocators/recorded.h), giving an allocation trace.
//
// The keys and values are the live experiments' own (experiments/common/workload_keys.h), and the
// map is the study's (hamt::Map<int64_t, int64_t> over StableHash{seed}), so a trace of
// study_build is exactly the traffic of a pool-exhaustion cell. The live allocator matrix hashes
// with absl::Hash, seeded per process: its tries differ from run to run and from these, in shape
// but not in kind.
//
// Clock: every map operation gets the next clock value, in order (an insert, a find, an erase);
// the map's destruction comes last. Values are checked (a find that misses throws).
#ifndef HAMT_ALLOC_EXPERIMENTS_REPLAY_WORKLOADS_H_
#define HAMT_ALLOC_EXPERIMENTS_REPLAY_WORKLOADS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "allocators/registry.h"
#include "allocators/stats.h"
#include "allocators/trace/trace_file.h"

namespace experiments::replay {

enum class Workload {
  kStudyBuild,      // keys 0..n-1 (value i*10), every key queried, the map destroyed
  kInsertSeq,       // the matrix's insert_seq: keys 0..n-1, the map destroyed
  kInsertShuffled,  // the matrix's insert_shuffled: ShuffledKeys(n), the map destroyed
  kEraseAll,        // the matrix's erase_all: ShuffledKeys(n) inserted, then erased in that order
};
inline constexpr Workload kAllWorkloads[] = {Workload::kStudyBuild, Workload::kInsertSeq,
                                             Workload::kInsertShuffled, Workload::kEraseAll};

absl::string_view WorkloadName(Workload workload);

struct Recording {
  // metadata: a trace_header record as JSON (trace_header.h).
  allocators::trace::Trace trace;
  // The recorded policy's telemetry right after the inserts, as the study reads it (the policy
  // dies with the map, so the trace alone tells the rest).
  allocators::AllocStats stats_after_build;
};

// Runs `workload` over a map of `policy` (a registry name, made from `options`) wrapped in
// Recorded<>. Throws std::runtime_error on a wrong value, std::invalid_argument on an unknown
// policy, and what making the policy throws.
Recording RecordWorkload(Workload workload, std::uint64_t n, std::uint64_t seed,
                         const std::string& policy = "malloc",
                         const allocators::PolicyOptions& options = {});

}  // namespace experiments::replay

#endif  // HAMT_ALLOC_EXPERIMENTS_REPLAY_WORKLOADS_H_
