// experiments/replay/replay.h: replaying an allocation trace (allocators/trace/) against one
// allocator policy: every event in order, each timed, the pointers kept in a table indexed by the
// trace's dense ids.
//
// Timing: the walk's CPU time per event (ns_per_event: the thread's CPU time, so that other
// processes' share of a busy machine is left out); and every 16th allocation and every 16th
// free timed alone between two TSC reads (ns_per_alloc, ns_per_free: a sample, since reading the
// TSC around every event would cost more than a fast allocator), converted to ns by the walk's own
// TSC rate. The null policy walks the same way with no allocator (its allocate returns a made-up
// pointer), so its times are the replay's own cost, to subtract (the net_ columns of the results).
//
// Each policy replays in a fresh child process (fork), so that its peak RSS is its own and no
// policy inherits another's heap; the child sends its result back through a pipe.
#ifndef HAMT_ALLOC_EXPERIMENTS_REPLAY_REPLAY_H_
#define HAMT_ALLOC_EXPERIMENTS_REPLAY_REPLAY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "allocators/registry.h"
#include "allocators/stats.h"
#include "allocators/trace/trace_file.h"

namespace experiments::replay {

// The policy that only walks the trace.
inline constexpr std::string_view kNullPolicy = "null";

struct ReplayResult {
  std::string policy;
  // The policy's telemetry after the trace, before the blocks still live are freed (the null
  // policy: the trace's own counts, from its summary). Identical in every repetition (checked).
  allocators::AllocStats stats;
  std::vector<double> ns_per_event;  // one value per repetition
  std::vector<double> ns_per_alloc;
  std::vector<double> ns_per_free;
  long peak_rss_kb = 0;    // the replaying process's peak RSS (0 when not run in a child)
  long rss_growth_kb = 0;  // peak RSS minus RSS at the start of the replay
};

// Replays `trace` (summary: CheckTrace(trace)) against a fresh policy named `policy` (a registry
// name or kNullPolicy) made from `options`, `repetitions` times, in this process. Throws
// std::runtime_error when counts differ between repetitions, std::invalid_argument for an unknown
// policy, and what making or using the policy throws.
ReplayResult Replay(const allocators::trace::Trace& trace,
                    const allocators::trace::TraceSummary& summary, std::string_view policy,
                    const allocators::PolicyOptions& options, int repetitions);

// The same in a fresh child process, with peak_rss_kb and rss_growth_kb. Throws
// std::runtime_error with the child's error, or how it died.
ReplayResult ReplayInChild(const allocators::trace::Trace& trace,
                           const allocators::trace::TraceSummary& summary, std::string_view policy,
                           const allocators::PolicyOptions& options, int repetitions);

}  // namespace experiments::replay

#endif  // HAMT_ALLOC_EXPERIMENTS_REPLAY_REPLAY_H_
