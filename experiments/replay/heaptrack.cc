#include "experiments/replay/heaptrack.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "allocators/trace/recorder.h"
#include "experiments/common/records.h"
#include "experiments/common/run_metadata.h"
#include "experiments/replay/trace_header.h"

namespace experiments::replay {
namespace {

std::uint64_t Hex(absl::string_view text, std::uint64_t line, const char* what) {
  std::uint64_t value = 0;
  if (text.empty() || !absl::SimpleHexAtoi(text, &value)) {
    throw HeaptrackError(line, absl::StrCat("bad ", what, " '", text, "'"));
  }
  return value;
}

}  // namespace

HeaptrackError::HeaptrackError(std::uint64_t line, const std::string& message)
    : std::runtime_error(absl::StrCat("line ", line, ": ", message)), line_(line) {}

HeaptrackImport ImportHeaptrack(std::istream& in) {
  HeaptrackImport result;
  allocators::trace::Recorder recorder;
  absl::flat_hash_map<std::uint64_t, std::uint64_t> sizes;  // live pointer -> its size
  std::string text;
  std::uint64_t line = 0;
  bool versioned = false;
  auto free_block = [&](std::uint64_t ptr, std::uint64_t size) {
    recorder.on_deallocate(reinterpret_cast<const void*>(ptr), size);
    ++result.frees;
  };
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    const std::vector<absl::string_view> f = absl::StrSplit(text, ' ', absl::SkipEmpty());
    if (f.empty()) continue;  // spaces only
    if (!versioned) {
      if (f.size() < 2 || f[0] != "v") {
        throw HeaptrackError(line, "not a heaptrack raw recording (no 'v' version line first; "
                                   "record with heaptrack -r)");
      }
      versioned = true;
      continue;
    }
    if (f[0] == "X") {
      result.program = text.size() > 2 ? text.substr(2) : "";
    } else if (f[0] == "+") {
      if (f.size() != 4) throw HeaptrackError(line, "an allocation needs: + size trace pointer");
      const std::uint64_t size = Hex(f[1], line, "size");
      const std::uint64_t ptr = Hex(f[3], line, "pointer");
      if (size > allocators::trace::kMaxEventBytes) {
        throw HeaptrackError(line, absl::StrCat("an allocation of ", size,
                                                " bytes does not fit a trace event"));
      }
      if (const auto live = sizes.find(ptr); live != sizes.end()) {
        free_block(ptr, live->second);  // heaptrack missed its free
        ++result.implicit_frees;
        sizes.erase(live);
      }
      recorder.set_clock(result.allocations);
      recorder.on_allocate(reinterpret_cast<const void*>(ptr), size);
      sizes.emplace(ptr, size);
      ++result.allocations;
    } else if (f[0] == "-") {
      if (f.size() != 2) throw HeaptrackError(line, "a free needs: - pointer");
      const std::uint64_t ptr = Hex(f[1], line, "pointer");
      const auto live = sizes.find(ptr);
      if (live == sizes.end()) {
        ++result.unknown_frees;
        continue;
      }
      free_block(ptr, live->second);
      sizes.erase(live);
    }
  }
  if (in.bad()) throw std::runtime_error("cannot read the heaptrack recording");
  if (!versioned) throw HeaptrackError(line, "empty: not a heaptrack raw recording");
  if (result.allocations == 0) throw HeaptrackError(line, "no allocation recorded");
  result.blocks_never_freed = sizes.size();
  result.trace.events = recorder.take_events();

  using F = schema::TraceHeader::Field;
  const TraceHeader header = RecordFrom<schema::TraceHeader>([&](F field) -> Value {
    switch (field) {  // no default: a new schema field must be written here
      case F::kWorkload: return std::string("heaptrack");
      case F::kN: return std::int64_t{0};
      case F::kSeed: return std::int64_t{0};
      case F::kHash: return std::string("-");
      case F::kNodeLayout: return "none: heaptrack's recording of " + result.program;
      case F::kMapOperations: return static_cast<std::int64_t>(result.allocations);
      case F::kRecordedPolicy: return std::string("the program's malloc (heaptrack)");
      case F::kGitCommit: return GitCommit();
      case F::kProcessMalloc: return std::string("unknown (the recorded program's)");
    }
    throw SchemaError("trace_header: unknown field");
  });
  result.trace.metadata = EncodeTraceHeader(header);
  return result;
}

HeaptrackImport ImportHeaptrackFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error("cannot read " + name + ": no such file");
  }
  if (path.extension() != ".zst") {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read " + name);
    return ImportHeaptrack(file);
  }
  if (std::system("command -v zstd >/dev/null 2>&1") != 0) {
    throw std::runtime_error(name + " is zstd-compressed and zstd is not installed (Debian "
                                    "package zstd), or decompress it first: zstd -d " + name);
  }
  // The path goes to the shell single-quoted, its own quotes escaped.
  std::string quoted = "'";
  for (char c : name) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  // zstd's own complaints are not shown: one line, below, says what failed.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      ::popen(("zstd -dcq -- " + quoted + " 2>/dev/null").c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run zstd -dc " + name);
  std::string text;
  char buffer[1 << 16];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), pipe.get())) > 0) text.append(buffer, got);
  const int status = ::pclose(pipe.release());
  if (status != 0) {
    throw std::runtime_error("zstd -dc " + name + " failed: not a zstd file, or truncated");
  }
  std::istringstream in(std::move(text));
  return ImportHeaptrack(in);
}

}  // namespace experiments::replay
