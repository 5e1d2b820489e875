// heaptrack's raw text as a trace: blocks matched by pointer, dropped events counted, and every
// malformed line refused with its number.
#include "experiments/replay/heaptrack.h"

#include <sstream>
#include <string>

#include "allocators/trace/trace_file.h"
#include "gtest/gtest.h"

namespace experiments::replay {
namespace {

using allocators::trace::Op;

HeaptrackImport Import(const std::string& text) {
  std::istringstream in(text);
  return ImportHeaptrack(in);
}

TEST(Heaptrack, BlocksAreMatchedByPointerAndFreedWithTheirSize) {
  const HeaptrackImport r = Import(
      "v 10400 3\nX /bin/prog arg\nt 1 0\n+ 10 1 a000\n+ 20 1 b000\nc 5\n- a000\n+ 30 1 a000\n"
      "- b000\n");
  EXPECT_EQ(r.program, "/bin/prog arg");
  EXPECT_EQ(r.allocations, 3u);
  EXPECT_EQ(r.frees, 2u);
  EXPECT_EQ(r.blocks_never_freed, 1u);
  ASSERT_EQ(r.trace.events.size(), 5u);
  const auto& e = r.trace.events;
  EXPECT_EQ(e[0].op(), Op::kAllocate);
  EXPECT_EQ(e[0].bytes, 0x10u);
  EXPECT_EQ(e[2].op(), Op::kFree);
  EXPECT_EQ(e[2].id, e[0].id);
  EXPECT_EQ(e[2].bytes, 0x10u);  // the free carries its block's size
  EXPECT_EQ(e[3].id, e[0].id);   // the freed id is reused, as the trace format wants
  EXPECT_EQ(e[4].id, e[1].id);
  EXPECT_EQ(e[4].bytes, 0x20u);
  EXPECT_EQ(e[3].clock(), 2u);  // the allocation's index
  const allocators::trace::TraceSummary summary = allocators::trace::CheckTrace(r.trace);
  EXPECT_EQ(summary.peak_live_bytes, 0x20u + 0x30u);  // b and the second a
  EXPECT_EQ(summary.live_blocks_at_end, 1u);
}

TEST(Heaptrack, UnknownFreesAreDroppedAndMissedFreesAdded) {
  const HeaptrackImport r = Import("v 10400 3\n- dead\n   \n+ 8 0 a000\n+ 18 0 a000\n");
  EXPECT_EQ(r.unknown_frees, 1u);
  EXPECT_EQ(r.implicit_frees, 1u);
  EXPECT_EQ(r.allocations, 2u);
  EXPECT_EQ(r.frees, 1u);
  ASSERT_EQ(r.trace.events.size(), 3u);
  EXPECT_EQ(r.trace.events[1].op(), Op::kFree);
  EXPECT_EQ(r.trace.events[1].bytes, 8u);
  EXPECT_NO_THROW(allocators::trace::CheckTrace(r.trace));
}

TEST(Heaptrack, MalformedInputNamesItsLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "line 0: empty"},
      {"+ 10 1 a000\n", "line 1: not a heaptrack raw recording"},
      {"v 10400 3\n+ 10 1\n", "line 2: an allocation needs"},
      {"v 10400 3\n+ zz 1 a000\n", "line 2: bad size 'zz'"},
      {"v 10400 3\nt 1 0\n- \n", "line 3: a free needs"},
      {"v 10400 3\nt 1 0\n- xyz\n", "line 3: bad pointer 'xyz'"},
      {"v 10400 3\n+ 100000000 1 a000\n", "line 2: an allocation of 4294967296 bytes"},
      {"v 10400 3\nm 1 -\n", "no allocation recorded"},
  };
  for (const auto& [text, message] : cases) {
    try {
      Import(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const HeaptrackError& error) {
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos)
          << error.what() << " (wanted " << message << ")";
    }
  }
}

// The shipped recording: heaptrack -r -o sort /usr/bin/sort /etc/services (Debian 12), decompressed.
TEST(Heaptrack, TheShippedRecordingOfSort) {
  const HeaptrackImport r =
      ImportHeaptrackFile("experiments/replay/testdata/sort_services.heaptrack.raw");
  EXPECT_EQ(r.program, "/usr/bin/sort /etc/services");
  EXPECT_EQ(r.allocations, 222u);
  EXPECT_EQ(r.frees, 71u);
  EXPECT_EQ(r.unknown_frees, 0u);
  EXPECT_EQ(r.blocks_never_freed, 151u);
  EXPECT_EQ(allocators::trace::CheckTrace(r.trace).allocations, 222u);
  EXPECT_THROW(ImportHeaptrackFile("experiments/replay/testdata/no_such_file"), std::runtime_error);
}

}  // namespace
}  // namespace experiments::replay
