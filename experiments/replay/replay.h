// experiments/replay/replay.h: replaying an allocation trace (allocators/trace/) against one
// allocator policy: every event in order, the pointers kept in a table indexed by the trace's dense
// ids.
//
// Timing: the walk's CPU time per event (ns_per_event: the thread's CPU time, so that other
// processes' share of a busy machine is left out); and a sample of the allocations and of the
// frees, each timed alone between two fenced TSC reads (ns_per_alloc, ns_per_free), converted to ns
// by the walk's own TSC rate. Reading the TSC around every event would cost more than a fast
// allocator (~25 ns a pair on this machine's VM), so one call per gap is timed, the gaps drawn
// uniformly from [kSampleGapMin, kSampleGapMax] with a fixed seed: random, so that a periodic
// pattern in the trace cannot alias with them; fixed, so that every walk of a trace (the null
// walk's included) times the same calls. A kind of call with fewer than kSampleGapMin events is
// never timed: its times are absent (null in the results).
//
// The walk writes the first byte of every block it allocates, as a map writes its node, so that a
// pool's pages are resident as in a live run (peak RSS means what it would there). The null
// policy walks the same way with no allocator (its allocate returns one scratch byte, which the
// walk writes), so its times are the replay's own cost, to subtract (the net_ columns of the
// results).
//
// Each policy replays in a fresh child process (experiments/common/child_process.h), so that its
// peak RSS is its own and no policy inherits another's heap; the child sends its result back
// through a pipe.
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

// The calls between two timed allocations (or two timed frees): uniform in this range, mean 16.
inline constexpr std::uint32_t kSampleGapMin = 8;
inline constexpr std::uint32_t kSampleGapMax = 24;

// The largest block a replay asks for: far above any map node (the largest is under a KiB), and
// small enough that a hostile or corrupt trace cannot make a policy reserve gigabytes per event.
inline constexpr std::uint32_t kMaxReplayBytes = std::uint32_t{1} << 24;  // 16 MiB

// Beyond CheckTrace (which it takes the summary of): that the replay can replay `trace`: at least
// one event, one thread (the replay walks on one), no allocation above kMaxReplayBytes. Throws
// allocators::trace::TraceError naming the byte offset of the first event (or of the events, for
// an empty trace) that it cannot replay.
void CheckReplayable(const allocators::trace::Trace& trace,
                     const allocators::trace::TraceSummary& summary);

struct ReplayResult {
  std::string policy;
  // The policy's telemetry after the trace, before the blocks still live are freed (the null
  // policy: the trace's own counts, from its summary). Identical in every repetition (checked).
  allocators::AllocStats stats;
  std::vector<double> ns_per_event;  // one value per repetition
  std::vector<double> ns_per_alloc;  // likewise, or empty when no allocation was timed
  std::vector<double> ns_per_free;   // likewise, or empty when no free was timed
  // The replaying process's peak RSS, read at the end of every walk while the policy still holds
  // its memory: the kernel does not raise its high-water mark when a pool is unmapped, so a peak
  // read afterwards could miss the pool.
  long peak_rss_kb = 0;
  long rss_growth_kb = 0;  // peak RSS minus RSS at the start of the replay (0 when not in a child)
};

// Replays `trace` (summary: CheckTrace(trace)) against a fresh policy named `policy` (a registry
// name or kNullPolicy) made from `options`, `repetitions` times, in this process. Throws
// std::runtime_error when counts differ between repetitions, std::invalid_argument for an unknown
// policy or an empty trace, and what making or using the policy throws.
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
