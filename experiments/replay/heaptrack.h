// experiments/replay/heaptrack.h: an allocation trace from heaptrack's recording of any program,
// so that the replay can run other programs' traffic against every allocator.
//
// heaptrack (a Debian package) records an unmodified program: `heaptrack -r -o OUT PROGRAM ARGS`
// writes OUT.raw.zst, zstd-compressed text with one line per event, hexadecimal numbers:
//   v <version> <file version>      first line
//   + <size> <trace index> <ptr>    an allocation (malloc, new, ...; realloc shows as - then +)
//   - <ptr>                         a free
//   X <command line>                the program
// and lines this import does not need (t: backtraces, m: modules, c: timestamps, R: RSS, ...).
// The raw mode (-r) keeps the pointers, so blocks are matched exactly: each allocation gets the
// dense id the trace format wants (Recorder), and a free names its block's id and size.
//
// Kept as heaptrack saw it, but for two kinds of event, counted: a free of a pointer the recording
// never allocated (allocated before heaptrack attached) is dropped, and an allocation of a pointer
// still live (a free heaptrack missed) first gets that free added. The clock is the
// allocation's index (a program has no map operations).
#ifndef HAMT_ALLOC_EXPERIMENTS_REPLAY_HEAPTRACK_H_
#define HAMT_ALLOC_EXPERIMENTS_REPLAY_HEAPTRACK_H_

#include <cstdint>
#include <filesystem>
#include <istream>
#include <stdexcept>
#include <string>

#include "allocators/trace/trace_file.h"

namespace experiments::replay {

// A line heaptrack's format does not allow; what() is "line <n>: <message>".
class HeaptrackError : public std::runtime_error {
 public:
  HeaptrackError(std::uint64_t line, const std::string& message);
  std::uint64_t line() const { return line_; }

 private:
  std::uint64_t line_;
};

struct HeaptrackImport {
  allocators::trace::Trace trace;  // metadata: a trace_header record (workload "heaptrack")
  std::string program;             // the X line: the recorded command line
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t unknown_frees = 0;    // dropped: frees of pointers never allocated in the recording
  std::uint64_t implicit_frees = 0;   // allocations of a live pointer: its missed free added
  std::uint64_t blocks_never_freed = 0;
};

// Reads heaptrack's raw text (decompressed). Throws HeaptrackError naming the line.
HeaptrackImport ImportHeaptrack(std::istream& in);

// The same from a file: OUT.raw.zst is decompressed through `zstd -dc` (Debian package zstd; a
// clear error when it is missing), anything else is read as text. Throws HeaptrackError, or
// std::runtime_error when the file cannot be read.
HeaptrackImport ImportHeaptrackFile(const std::filesystem::path& path);

}  // namespace experiments::replay

#endif  // HAMT_ALLOC_EXPERIMENTS_REPLAY_HEAPTRACK_H_
