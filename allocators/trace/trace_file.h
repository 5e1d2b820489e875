// allocators/trace/trace_file.h: an allocation trace (events, event.h) and its binary file: write,
// read, and check that it can be replayed.
//
// File layout (version 1; every integer little-endian):
//
//   offset    bytes   field
//   0         8       magic: 89 48 54 52 41 43 45 0A ("\x89HTRACE\n": a non-ASCII first byte and a
//                     newline, so a text-mode copy or a wrong file shows at once)
//   8         4       format version (kFormatVersion)
//   12        4       M: metadata bytes
//   16        8       E: events
//   24        M       metadata: opaque bytes to this library; the experiments store a JSON object
//                     there (the trace_header record of experiments/schema/schema.json)
//   24+M      P       zero padding to a multiple of 16, so that the events are 16-byte aligned
//   D=24+M+P  16*E    the events (event.h), in the order they happened
//
// The file ends exactly at D + 16*E: a shorter file was cut off, a longer one is not a trace.
// Readers stop at the first problem with TraceError, whose message starts with the byte offset
// of the problem ("byte 8: format version 7, this reader knows 1").
#ifndef HAMT_ALLOC_ALLOCATORS_TRACE_TRACE_FILE_H_
#define HAMT_ALLOC_ALLOCATORS_TRACE_TRACE_FILE_H_

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocators/trace/event.h"

namespace allocators::trace {

inline constexpr char kMagic[8] = {'\x89', 'H', 'T', 'R', 'A', 'C', 'E', '\n'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint64_t kFixedHeaderBytes = 24;

struct Trace {
  std::string metadata;
  std::vector<Event> events;
};

// Byte offset of the events in a file whose metadata has `metadata_bytes` bytes.
constexpr std::uint64_t EventsOffset(std::uint64_t metadata_bytes) {
  return (kFixedHeaderBytes + metadata_bytes + 15) / 16 * 16;
}

// Byte offset of event `index` in such a file.
constexpr std::uint64_t EventOffset(std::uint64_t metadata_bytes, std::uint64_t index) {
  return EventsOffset(metadata_bytes) + index * sizeof(Event);
}

// The most metadata a file can hold: its size is a 32-bit field.
inline constexpr std::uint64_t kMaxMetadataBytes = UINT32_MAX;

class TraceError : public std::runtime_error {
 public:
  // what() is "byte <offset>: <message>".
  TraceError(std::uint64_t offset, const std::string& message);
  std::uint64_t offset() const { return offset_; }

 private:
  std::uint64_t offset_;
};

// Writes `trace` as a file's bytes. The caller checks the stream (a full disk shows there).
// Throws std::length_error, writing nothing, when the metadata exceeds kMaxMetadataBytes.
void WriteTrace(const Trace& trace, std::ostream& out);

// Reads the file at `path` (magic, version, sizes; the events are not checked: CheckTrace does).
// Throws TraceError on a bad or truncated file, std::runtime_error when it cannot be read.
Trace ReadTrace(const std::filesystem::path& path);

// What a replay needs to know of a trace, and the facts every replay must reproduce.
struct TraceSummary {
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t bytes_allocated = 0;
  // The most bytes live at once: the lower bound on memory for this trace, whatever serves it.
  std::uint64_t peak_live_bytes = 0;
  std::uint64_t peak_live_blocks = 0;
  std::uint32_t id_limit = 0;      // every id is below it (the size of a replay's pointer table)
  std::uint64_t live_blocks_at_end = 0;  // never freed (a replay frees them, untimed)
  std::uint64_t last_clock = 0;
  std::uint32_t threads = 0;       // 1 + the largest thread index (0 for no events)
};

// Checks that every event can be replayed: an allocation takes a dead id below id_limit or
// exactly id_limit (ids are dense), a free names a live id with the size it was allocated with.
// Throws TraceError naming the event's byte offset in the trace's file (EventOffset).
TraceSummary CheckTrace(const Trace& trace);

}  // namespace allocators::trace

#endif  // HAMT_ALLOC_ALLOCATORS_TRACE_TRACE_FILE_H_
