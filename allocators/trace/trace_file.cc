#include "allocators/trace/trace_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace allocators::trace {
namespace {

std::uint32_t LoadU32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint64_t LoadU64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string Hex(const unsigned char* bytes, std::size_t n) {
  std::string out;
  char buffer[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buffer, sizeof buffer, i == 0 ? "%02x" : " %02x", bytes[i]);
    out += buffer;
  }
  return out;
}

}  // namespace

TraceError::TraceError(std::uint64_t offset, const std::string& message)
    : std::runtime_error("byte " + std::to_string(offset) + ": " + message), offset_(offset) {}

void WriteTrace(const Trace& trace, std::ostream& out) {
  if (trace.metadata.size() > kMaxMetadataBytes) {
    throw std::length_error("trace metadata of " + std::to_string(trace.metadata.size()) +
                            " bytes: a trace file holds at most " +
                            std::to_string(kMaxMetadataBytes));
  }
  unsigned char header[kFixedHeaderBytes] = {};
  const auto metadata_bytes = static_cast<std::uint32_t>(trace.metadata.size());
  const std::uint64_t events = trace.events.size();
  std::memcpy(header, kMagic, sizeof kMagic);
  std::memcpy(header + 8, &kFormatVersion, 4);
  std::memcpy(header + 12, &metadata_bytes, 4);
  std::memcpy(header + 16, &events, 8);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(trace.metadata.data(), static_cast<std::streamsize>(trace.metadata.size()));
  const std::uint64_t padding = EventsOffset(metadata_bytes) - kFixedHeaderBytes - metadata_bytes;
  const char zeros[16] = {};
  out.write(zeros, static_cast<std::streamsize>(padding));
  out.write(reinterpret_cast<const char*>(trace.events.data()),
            static_cast<std::streamsize>(events * sizeof(Event)));
}

Trace ReadTrace(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  std::error_code error;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, error);
  if (error) throw std::runtime_error("cannot read " + path.string() + ": " + error.message());

  unsigned char header[kFixedHeaderBytes] = {};
  const std::size_t got = std::fread(header, 1, sizeof header, file.get());
  // Each field is judged on the bytes that are there, so a short file names its first missing one.
  const std::size_t magic_got = std::min(got, sizeof kMagic);
  if (std::memcmp(header, kMagic, magic_got) != 0) {
    throw TraceError(0, "not a trace file: magic is " + Hex(header, magic_got) + ", expected " +
                            Hex(reinterpret_cast<const unsigned char*>(kMagic), sizeof kMagic));
  }
  if (got < 12) throw TraceError(got, "truncated: the file ends inside the 24-byte header");
  const std::uint32_t version = LoadU32(header + 8);
  if (version != kFormatVersion) {
    throw TraceError(8, "format version " + std::to_string(version) + ", this reader knows " +
                            std::to_string(kFormatVersion));
  }
  if (got < kFixedHeaderBytes) {
    throw TraceError(got, "truncated: the file ends inside the 24-byte header");
  }
  const std::uint32_t metadata_bytes = LoadU32(header + 12);
  const std::uint64_t events = LoadU64(header + 16);
  const std::uint64_t events_offset = EventsOffset(metadata_bytes);
  if (events_offset > file_bytes) {
    throw TraceError(file_bytes, "truncated: the header at byte 12 announces " +
                                     std::to_string(metadata_bytes) +
                                     " bytes of metadata, the file ends first");
  }
  if (events > (file_bytes - events_offset) / sizeof(Event)) {
    const std::uint64_t whole = (file_bytes - events_offset) / sizeof(Event);
    throw TraceError(events_offset + whole * sizeof(Event),
                     "truncated: the header at byte 16 announces " + std::to_string(events) +
                         " events, the file holds " + std::to_string(whole) +
                         (whole * sizeof(Event) == file_bytes - events_offset
                              ? std::string()
                              : " and part of the next"));
  }
  const std::uint64_t expected_bytes = events_offset + events * sizeof(Event);
  if (file_bytes != expected_bytes) {
    throw TraceError(expected_bytes, std::to_string(file_bytes - expected_bytes) +
                                         " bytes after the last of the " + std::to_string(events) +
                                         " events the header announces");
  }

  Trace trace;
  trace.metadata.resize(metadata_bytes);
  trace.events.resize(events);
  char padding[16];
  if (std::fread(trace.metadata.data(), 1, metadata_bytes, file.get()) != metadata_bytes ||
      std::fread(padding, 1, events_offset - kFixedHeaderBytes - metadata_bytes, file.get()) !=
          events_offset - kFixedHeaderBytes - metadata_bytes ||
      std::fread(trace.events.data(), sizeof(Event), events, file.get()) != events) {
    // The size was checked: only a file changing under us, or an I/O error, gets here.
    throw std::runtime_error("cannot read " + path.string() + ": short read");
  }
  return trace;
}

TraceSummary CheckTrace(const Trace& trace) {
  TraceSummary s;
  // Per id: the size it was allocated with, and whether it is live now.
  std::vector<std::uint32_t> bytes_of;
  std::vector<bool> live;
  std::uint64_t live_bytes = 0;
  std::uint64_t live_blocks = 0;
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    const Event& e = trace.events[i];
    const std::uint64_t offset = EventOffset(trace.metadata.size(), i);
    auto fail = [&](const std::string& message) -> void {
      throw TraceError(offset, "event " + std::to_string(i) + ": " + message);
    };
    s.threads = std::max(s.threads, e.thread() + 1);
    s.last_clock = std::max(s.last_clock, e.clock());
    if (!e.is_free()) {
      if (e.id > s.id_limit || e.id == UINT32_MAX) {
        fail("allocation of id " + std::to_string(e.id) + ": ids are dense, the next new one is " +
             std::to_string(s.id_limit));
      }
      if (e.id == s.id_limit) {
        ++s.id_limit;
        bytes_of.push_back(0);
        live.push_back(false);
      }
      if (live[e.id]) fail("allocation of id " + std::to_string(e.id) + ", which is live");
      live[e.id] = true;
      bytes_of[e.id] = e.bytes;
      ++s.allocations;
      s.bytes_allocated += e.bytes;
      live_bytes += e.bytes;
      ++live_blocks;
      s.peak_live_bytes = std::max(s.peak_live_bytes, live_bytes);
      s.peak_live_blocks = std::max(s.peak_live_blocks, live_blocks);
    } else {
      if (e.id >= s.id_limit || !live[e.id]) {
        fail("free of id " + std::to_string(e.id) + ", which is not live");
      }
      if (e.bytes != bytes_of[e.id]) {
        fail("free of id " + std::to_string(e.id) + " with " + std::to_string(e.bytes) +
             " bytes, allocated with " + std::to_string(bytes_of[e.id]));
      }
      live[e.id] = false;
      ++s.frees;
      live_bytes -= e.bytes;
      --live_blocks;
    }
  }
  s.live_blocks_at_end = live_blocks;
  return s;
}

}  // namespace allocators::trace
