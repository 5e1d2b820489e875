// The trace format (event.h, trace_file.h), the recorder and Recorded<P>: round trips, every way a
// file can be bad (with its byte offset), and recording that leaves the policy's behaviour alone.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/malloc_policy.h"
#include "allocators/recorded.h"
#include "allocators/trace/event.h"
#include "allocators/trace/recorder.h"
#include "allocators/trace/trace_file.h"
#include "gtest/gtest.h"

namespace allocators::trace {
namespace {

namespace fs = std::filesystem;

fs::path TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return fs::path(dir != nullptr ? dir : "/tmp") / name;
}

std::string Bytes(const Trace& trace) {
  std::ostringstream out;
  WriteTrace(trace, out);
  return out.str();
}

fs::path WriteFile(const std::string& name, const std::string& bytes) {
  const fs::path path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// alloc 0 (24 B), alloc 1 (40 B), free 0, alloc 0 (8 B), free 1: ids dense and reused.
Trace Sample(std::string metadata) {
  Trace t;
  t.metadata = std::move(metadata);
  t.events = {Event::Make(Op::kAllocate, 0, 24, 0, 0), Event::Make(Op::kAllocate, 1, 40, 1, 0),
              Event::Make(Op::kFree, 0, 24, 2, 0), Event::Make(Op::kAllocate, 0, 8, 2, 0),
              Event::Make(Op::kFree, 1, 40, 3, 1)};
  return t;
}

std::string ErrorOf(const std::string& bytes, std::uint64_t* offset = nullptr) {
  try {
    ReadTrace(WriteFile("bad.trace", bytes));
  } catch (const TraceError& e) {
    if (offset != nullptr) *offset = e.offset();
    return e.what();
  }
  return "no error";
}

TEST(EventTest, PacksEveryField) {
  const Event e = Event::Make(Op::kFree, 7, 4096, kMaxClock, kMaxThread);
  EXPECT_EQ(e.op(), Op::kFree);
  EXPECT_EQ(e.id, 7u);
  EXPECT_EQ(e.bytes, 4096u);
  EXPECT_EQ(e.clock(), kMaxClock);
  EXPECT_EQ(e.thread(), kMaxThread);
  const Event a = Event::Make(Op::kAllocate, 0, 0, 12345, 3);
  EXPECT_EQ(a.op(), Op::kAllocate);
  EXPECT_EQ(a.clock(), 12345u);
  EXPECT_EQ(a.thread(), 3u);
}

TEST(TraceFileTest, RoundTripsEveryPadding) {
  for (const std::string metadata : {"", "{}", "{\"workload\": \"study_build\"}", "0123456789"}) {
    const Trace t = Sample(metadata);
    const std::string bytes = Bytes(t);
    EXPECT_EQ(bytes.size(), EventsOffset(metadata.size()) + 16 * t.events.size());
    EXPECT_EQ(bytes.substr(0, 8), std::string(kMagic, 8));
    const Trace back = ReadTrace(WriteFile("ok.trace", bytes));
    EXPECT_EQ(back.metadata, t.metadata);
    EXPECT_EQ(back.events, t.events);
  }
}

TEST(TraceFileTest, EmptyTraceRoundTrips) {
  const Trace back = ReadTrace(WriteFile("empty.trace", Bytes(Trace{})));
  EXPECT_TRUE(back.events.empty());
  EXPECT_EQ(CheckTrace(back).allocations, 0u);
}

TEST(TraceFileTest, BadFilesNameTheirByteOffset) {
  const std::string good = Bytes(Sample("{\"a\": 1}"));  // events at byte 32
  std::uint64_t offset = 99;
  std::string bad = good;
  bad[1] = 'X';
  EXPECT_NE(ErrorOf(bad, &offset).find("not a trace file"), std::string::npos);
  EXPECT_EQ(offset, 0u);
  bad = good;
  bad[8] = 7;
  EXPECT_EQ(ErrorOf(bad, &offset), "byte 8: format version 7, this reader knows 1");
  EXPECT_EQ(ErrorOf("", &offset), "byte 0: truncated: the file ends inside the 24-byte header");
  EXPECT_EQ(ErrorOf(good.substr(0, 10), &offset),
            "byte 10: truncated: the file ends inside the 24-byte header");
  EXPECT_EQ(ErrorOf(good.substr(0, 20), &offset),
            "byte 20: truncated: the file ends inside the 24-byte header");
  EXPECT_EQ(ErrorOf(good.substr(0, 28), &offset).substr(0, 19), "byte 28: truncated:");
  // Cut inside the third event (bytes 64..80): the last whole event ends at 64.
  EXPECT_EQ(ErrorOf(good.substr(0, 70), &offset),
            "byte 64: truncated: the header at byte 16 announces 5 events, the file holds 2 and "
            "part of the next");
  EXPECT_EQ(ErrorOf(good + "xy", &offset),
            "byte 112: 2 bytes after the last of the 5 events the header announces");
  EXPECT_THROW(ReadTrace(TempPath("does_not_exist.trace")), std::runtime_error);
}

// Header counts so large that offsets computed from them would overflow: each is a truncation at
// the right byte, not a wrap-around, a huge allocation or a crash.
TEST(TraceFileTest, HugeHeaderCountsAreTruncations) {
  const std::string good = Bytes(Sample("{\"a\": 1}"));  // 5 events at bytes 32..112
  auto with_u64 = [&](std::size_t at, std::uint64_t value) {
    std::string bad = good;
    std::memcpy(bad.data() + at, &value, sizeof value);
    return bad;
  };
  auto with_u32 = [&](std::size_t at, std::uint32_t value) {
    std::string bad = good;
    std::memcpy(bad.data() + at, &value, sizeof value);
    return bad;
  };
  std::uint64_t offset = 0;
  EXPECT_EQ(ErrorOf(with_u64(16, std::uint64_t{1} << 60), &offset),
            "byte 112: truncated: the header at byte 16 announces 1152921504606846976 events, "
            "the file holds 5");
  EXPECT_EQ(offset, 112u);
  EXPECT_EQ(ErrorOf(with_u64(16, UINT64_MAX)),
            "byte 112: truncated: the header at byte 16 announces 18446744073709551615 events, "
            "the file holds 5");
  EXPECT_EQ(ErrorOf(with_u32(12, 0xFFFFFFFF)),
            "byte 112: truncated: the header at byte 12 announces 4294967295 bytes of metadata, "
            "the file ends first");
}

TEST(CheckTraceTest, SummarizesAGoodTrace) {
  const TraceSummary s = CheckTrace(Sample(""));
  EXPECT_EQ(s.allocations, 3u);
  EXPECT_EQ(s.frees, 2u);
  EXPECT_EQ(s.bytes_allocated, 72u);
  EXPECT_EQ(s.peak_live_bytes, 64u);
  EXPECT_EQ(s.peak_live_blocks, 2u);
  EXPECT_EQ(s.id_limit, 2u);
  EXPECT_EQ(s.live_blocks_at_end, 1u);
  EXPECT_EQ(s.last_clock, 3u);
  EXPECT_EQ(s.threads, 2u);
}

TEST(CheckTraceTest, RefusesEventsThatCannotBeReplayed) {
  auto error_of = [](std::vector<Event> events) -> std::string {
    try {
      CheckTrace(Trace{"", std::move(events)});  // events start at byte 32
    } catch (const TraceError& e) {
      return e.what();
    }
    return "no error";
  };
  const Event a0 = Event::Make(Op::kAllocate, 0, 16, 0, 0);
  EXPECT_EQ(error_of({a0, Event::Make(Op::kAllocate, 2, 16, 0, 0)}),
            "byte 48: event 1: allocation of id 2: ids are dense, the next new one is 1");
  EXPECT_EQ(error_of({a0, a0}), "byte 48: event 1: allocation of id 0, which is live");
  EXPECT_EQ(error_of({Event::Make(Op::kFree, 0, 16, 0, 0)}),
            "byte 32: event 0: free of id 0, which is not live");
  EXPECT_EQ(error_of({a0, Event::Make(Op::kFree, 0, 8, 0, 0)}),
            "byte 48: event 1: free of id 0 with 8 bytes, allocated with 16");
  // The largest id: no table that large is ever made.
  EXPECT_EQ(error_of({a0, Event::Make(Op::kAllocate, UINT32_MAX, 16, 0, 0)}),
            "byte 48: event 1: allocation of id 4294967295: ids are dense, the next new one is 1");
  EXPECT_EQ(error_of({a0, Event::Make(Op::kFree, UINT32_MAX, 16, 0, 0)}),
            "byte 48: event 1: free of id 4294967295, which is not live");
}

TEST(RecorderTest, IdsAreDenseAndReusedLastFreedFirst) {
  Recorder recorder(/*thread=*/2);
  int a = 0, b = 0, c = 0, d = 0;
  recorder.set_clock(10);
  recorder.on_allocate(&a, 8);
  recorder.on_allocate(&b, 16);
  recorder.set_clock(11);
  recorder.on_deallocate(&a, 8);
  recorder.on_deallocate(&b, 16);
  recorder.on_allocate(&c, 24);  // takes id 1 (freed last)
  recorder.on_allocate(&d, 32);  // then id 0
  const std::vector<Event> expected = {
      Event::Make(Op::kAllocate, 0, 8, 10, 2), Event::Make(Op::kAllocate, 1, 16, 10, 2),
      Event::Make(Op::kFree, 0, 8, 11, 2),     Event::Make(Op::kFree, 1, 16, 11, 2),
      Event::Make(Op::kAllocate, 1, 24, 11, 2), Event::Make(Op::kAllocate, 0, 32, 11, 2)};
  EXPECT_EQ(recorder.events(), expected);
  EXPECT_EQ(recorder.live_blocks(), 2u);
  EXPECT_EQ(recorder.take_events(), expected);
  recorder.on_deallocate(&c, 24);
  recorder.on_deallocate(&d, 32);
  EXPECT_EQ(recorder.events().size(), 2u);
  EXPECT_THROW(Recorder(kMaxThread + 1), std::invalid_argument);
}

// The same calls through Recorded<P> and through P alone: the same telemetry, and a trace that
// CheckTrace accepts and whose counts are P's.
TEST(RecordedTest, LeavesThePolicyAlone) {
  const PoolOptions options{.capacity_slots = 64, .quiet = true};  // falls back part way
  auto drive = [](auto& policy) {
    std::vector<std::pair<void*, std::size_t>> live;
    for (std::size_t i = 0; i < 200; ++i) {
      const std::size_t bytes = 8 * (1 + i % 7);
      live.emplace_back(policy.allocate(bytes), bytes);
      if (i % 3 == 2) {
        policy.deallocate(live[i / 2].first, live[i / 2].second);
        live[i / 2].first = nullptr;
      }
    }
    for (auto [p, bytes] : live) {
      if (p != nullptr) policy.deallocate(p, bytes);
    }
  };
  BumpPool plain(options);
  drive(plain);
  Recorder recorder;
  Recorded<BumpPool> recorded(BumpPool(options), recorder);
  static_assert(AllocatorPolicy<Recorded<BumpPool>> && OwningAllocatorPolicy<Recorded<BumpPool>>);
  static_assert(!OwningAllocatorPolicy<Recorded<MallocPolicy>>);
  drive(recorded);
  EXPECT_EQ(recorded.stats(), plain.stats());
  EXPECT_GT(plain.stats().fallback_allocations, 0u);
  const TraceSummary s = CheckTrace(Trace{"", recorder.events()});
  EXPECT_EQ(s.allocations, plain.stats().allocations);
  EXPECT_EQ(s.frees, plain.stats().deallocations);
  EXPECT_EQ(s.bytes_allocated, plain.stats().bytes_allocated);
  EXPECT_EQ(s.peak_live_bytes, plain.stats().peak_live_bytes);
  EXPECT_EQ(s.live_blocks_at_end, 0u);

  Recorded<BumpPool> moved(std::move(recorded));
  EXPECT_EQ(&moved.recorder(), &recorder);
  EXPECT_THROW((void)moved.allocate(std::size_t{1} << 33), std::length_error);
  EXPECT_EQ(moved.stats(), plain.stats());  // refused before the policy was asked
}

}  // namespace
}  // namespace allocators::trace
