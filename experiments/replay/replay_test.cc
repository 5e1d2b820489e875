// Recording and replay against the live experiments: a replay repeats exactly, a replay of the
// study's build agrees with the live study cell exactly, and every workload records a valid trace.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "allocators/registry.h"
#include "allocators/trace/trace_file.h"
#include "experiments/pool_exhaustion/measure.h"
#include "experiments/replay/replay.h"
#include "experiments/replay/trace_header.h"
#include "experiments/replay/workloads.h"
#include "gtest/gtest.h"

namespace experiments::replay {
namespace {

using allocators::trace::CheckTrace;
using allocators::trace::TraceSummary;

constexpr std::uint64_t kN = 20'000;
// Small enough that both pools run dry part way through the build: fallbacks must agree too.
constexpr std::uint64_t kPoolSlots = 16'384;

allocators::PolicyOptions Pool(std::uint64_t slots) {
  allocators::PolicyOptions options;
  options.pool = {.capacity_slots = slots, .quiet = true};
  return options;
}

const Recording& StudyBuild() {
  static const Recording* recording = new Recording(RecordWorkload(Workload::kStudyBuild, kN, 0));
  return *recording;
}

TEST(ReplayTest, ReplayingTwiceGivesIdenticalCounts) {
  const Recording& r = StudyBuild();
  const TraceSummary summary = CheckTrace(r.trace);
  for (const char* policy : {"null", "malloc", "bump_pool", "slot_recycler", "pmr_pool"}) {
    const ReplayResult first = Replay(r.trace, summary, policy, Pool(kPoolSlots), 1);
    const ReplayResult second = Replay(r.trace, summary, policy, Pool(kPoolSlots), 2);
    EXPECT_EQ(first.stats, second.stats) << policy;
    EXPECT_EQ(first.stats.allocations, summary.allocations) << policy;
    EXPECT_EQ(first.stats.peak_live_bytes, summary.peak_live_bytes) << policy;
    EXPECT_EQ(second.ns_per_alloc.size(), 2u);
  }
}

TEST(ReplayTest, StudyBuildAgreesWithTheLiveStudyExactly) {
  const Recording& r = StudyBuild();
  const TraceSummary summary = CheckTrace(r.trace);
  for (pool_exhaustion::Policy policy :
       {pool_exhaustion::Policy::kBumpPool, pool_exhaustion::Policy::kSlotRecycler}) {
    pool_exhaustion::Cell cell;
    cell.policy = policy;
    cell.n = kN;
    cell.pool_slots = kPoolSlots;
    const allocators::AllocStats live = pool_exhaustion::MeasureCell(cell, 1).stats;
    const std::string name(pool_exhaustion::PolicyName(policy));
    const allocators::AllocStats replayed =
        Replay(r.trace, summary, name, Pool(kPoolSlots), 1).stats;
    EXPECT_GT(live.fallback_allocations, 0u) << name << ": the pool should run dry";
    EXPECT_EQ(replayed.allocations, live.allocations) << name;
    EXPECT_EQ(replayed.bytes_allocated, live.bytes_allocated) << name;
    EXPECT_EQ(replayed.slots_demanded, live.slots_demanded) << name;
    EXPECT_EQ(replayed.fallback_allocations, live.fallback_allocations) << name;
    EXPECT_EQ(allocators::FallbackPct(replayed), allocators::FallbackPct(live)) << name;
    EXPECT_EQ(replayed.high_water_slots, live.high_water_slots) << name;
    EXPECT_EQ(replayed.reused_allocations, live.reused_allocations) << name;
    EXPECT_EQ(replayed.peak_live_bytes, live.peak_live_bytes) << name;
  }
  // Recording does not change the recorded policy: a build recorded over a bump pool has the
  // live cell's counts.
  pool_exhaustion::Cell cell;
  cell.n = kN;
  cell.pool_slots = kPoolSlots;
  const allocators::AllocStats live = pool_exhaustion::MeasureCell(cell, 1).stats;
  const allocators::AllocStats recorded =
      RecordWorkload(Workload::kStudyBuild, kN, 0, "bump_pool", Pool(kPoolSlots)).stats_after_build;
  EXPECT_EQ(recorded.allocations, live.allocations);
  EXPECT_EQ(recorded.slots_demanded, live.slots_demanded);
  EXPECT_EQ(recorded.fallback_allocations, live.fallback_allocations);
  // The trace does not depend on the policy that served it.
  EXPECT_EQ(RecordWorkload(Workload::kStudyBuild, kN, 0, "bump_pool", Pool(kPoolSlots)).trace.events,
            r.trace.events);
}

TEST(ReplayTest, AChildProcessReplaysTheSameAndMeasuresItsMemory) {
  const Recording& r = StudyBuild();
  const TraceSummary summary = CheckTrace(r.trace);
  const ReplayResult here = Replay(r.trace, summary, "slot_recycler", Pool(kPoolSlots), 1);
  const ReplayResult child = ReplayInChild(r.trace, summary, "slot_recycler", Pool(kPoolSlots), 1);
  EXPECT_EQ(child.stats, here.stats);
  // The peak is the RSS the child started with plus its growth, and the start is not empty.
  EXPECT_GT(child.peak_rss_kb, child.rss_growth_kb);
  // A pool the child reserves afresh and fills to its high-water mark grows the RSS by that much
  // (a bump pool large enough never to fall back; the walk writes every block, as a map does;
  // the last page may be untouched).
  const ReplayResult bump = ReplayInChild(r.trace, summary, "bump_pool", Pool(1 << 22), 1);
  ASSERT_EQ(bump.stats.fallback_allocations, 0u);
  EXPECT_GE(static_cast<std::uint64_t>(bump.rss_growth_kb) * 1024 + 4096,
            bump.stats.high_water_slots * 8);
  EXPECT_THROW(ReplayInChild(r.trace, summary, "no_such_policy", Pool(0), 1), std::runtime_error);
}

// A trace of `allocations` blocks of 16 bytes, all allocated, then all freed.
allocators::trace::Trace Tiny(std::uint32_t allocations) {
  using allocators::trace::Event;
  using allocators::trace::Op;
  allocators::trace::Trace trace;
  trace.metadata = "{}";
  for (std::uint32_t id = 0; id < allocations; ++id) {
    trace.events.push_back(Event::Make(Op::kAllocate, id, 16, id, 0));
  }
  for (std::uint32_t id = 0; id < allocations; ++id) {
    trace.events.push_back(Event::Make(Op::kFree, id, 16, allocations + id, 0));
  }
  return trace;
}

TEST(ReplayTest, CallsTooFewToSampleHaveNoTimes) {
  const allocators::trace::Trace few = Tiny(kSampleGapMin - 1);
  const ReplayResult untimed = Replay(few, CheckTrace(few), "malloc", {}, 3);
  EXPECT_EQ(untimed.ns_per_event.size(), 3u);
  EXPECT_TRUE(untimed.ns_per_alloc.empty());
  EXPECT_TRUE(untimed.ns_per_free.empty());
  // The first gap is at most kSampleGapMax calls, so that many are timed in every repetition.
  const allocators::trace::Trace enough = Tiny(kSampleGapMax);
  const ReplayResult timed = Replay(enough, CheckTrace(enough), "malloc", {}, 3);
  EXPECT_EQ(timed.ns_per_alloc.size(), 3u);
  EXPECT_EQ(timed.ns_per_free.size(), 3u);
}

TEST(ReplayTest, RefusesWhatItCannotReplayNamingTheByte) {
  using allocators::trace::Event;
  using allocators::trace::EventOffset;
  using allocators::trace::Op;
  using allocators::trace::TraceError;
  auto refusal = [](const allocators::trace::Trace& trace) -> std::string {
    try {
      CheckReplayable(trace, CheckTrace(trace));
    } catch (const TraceError& error) {
      return error.what();
    }
    return "accepted";
  };
  allocators::trace::Trace trace = Tiny(2);
  EXPECT_EQ(refusal(trace), "accepted");
  allocators::trace::Trace empty = trace;
  empty.events.clear();
  EXPECT_EQ(refusal(empty), "byte 32: no events: nothing to replay");
  EXPECT_THROW(Replay(empty, CheckTrace(empty), "malloc", {}, 1), std::invalid_argument);
  allocators::trace::Trace threaded = trace;
  threaded.events[2] = Event::Make(Op::kFree, 0, 16, 2, 1);
  EXPECT_EQ(refusal(threaded),
            "byte " + std::to_string(EventOffset(2, 2)) +
                ": event 2: thread 1: the replay replays single-threaded traces only");
  allocators::trace::Trace huge = trace;
  huge.events[1].bytes = huge.events[3].bytes = kMaxReplayBytes + 1;
  EXPECT_EQ(refusal(huge), "byte " + std::to_string(EventOffset(2, 1)) +
                               ": event 1: allocation of 16777217 bytes, above the replay's "
                               "limit of 16777216");
  huge.events[1].bytes = huge.events[3].bytes = kMaxReplayBytes;
  EXPECT_EQ(refusal(huge), "accepted");
}

TEST(WorkloadsTest, EveryWorkloadRecordsAReplayableTrace) {
  for (Workload w : kAllWorkloads) {
    const Recording r = RecordWorkload(w, 3000, 1);
    const TraceSummary s = CheckTrace(r.trace);
    EXPECT_GT(s.allocations, 3000u) << WorkloadName(w);
    // Every map is destroyed at the end, so every block is freed.
    EXPECT_EQ(s.live_blocks_at_end, 0u) << WorkloadName(w);
    EXPECT_EQ(s.allocations, s.frees) << WorkloadName(w);
    const TraceHeader header = DecodeTraceHeader(r.trace);
    using H = schema::TraceHeader::Field;
    EXPECT_EQ(header.Str(H::kWorkload), WorkloadName(w));
    EXPECT_EQ(header.Int(H::kN), 3000);
    EXPECT_EQ(header.Int(H::kSeed), 1);
    // One clock value per operation, the destruction last.
    const std::int64_t ops = w == Workload::kInsertSeq || w == Workload::kInsertShuffled ? 3001 : 6001;
    EXPECT_EQ(header.Int(H::kMapOperations), ops) << WorkloadName(w);
    // erase_all's map is empty when destroyed: its last event is the last erase's.
    EXPECT_EQ(static_cast<std::int64_t>(s.last_clock), w == Workload::kEraseAll ? ops - 2 : ops - 1)
        << WorkloadName(w);
  }
}

TEST(WorkloadsTest, ARecordedTraceRoundTripsThroughItsFile) {
  const Recording& r = StudyBuild();
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path path =
      std::filesystem::path(dir != nullptr ? dir : "/tmp") / "study.trace";
  {
    std::ofstream out(path, std::ios::binary);
    allocators::trace::WriteTrace(r.trace, out);
  }
  const allocators::trace::Trace back = allocators::trace::ReadTrace(path);
  EXPECT_EQ(back.metadata, r.trace.metadata);
  EXPECT_EQ(back.events, r.trace.events);
  EXPECT_EQ(DecodeTraceHeader(back), DecodeTraceHeader(r.trace));
  allocators::trace::Trace bad = back;
  bad.metadata = "{\"workload\": 3}";
  EXPECT_THROW(DecodeTraceHeader(bad), allocators::trace::TraceError);
}

}  // namespace
}  // namespace experiments::replay
