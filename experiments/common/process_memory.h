// experiments/common/process_memory.h: this process's memory as the kernel sees it, read without
// allocating (a timeline samples it between map operations; a malloc there would be measured).
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_PROCESS_MEMORY_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_PROCESS_MEMORY_H_

#include <cstdint>

namespace experiments {

// /proc/self/statm: mapped address space (its first field), resident set (its second) and the
// file-backed part of the resident set (its third), in bytes. All 0 when /proc cannot be read.
struct Statm {
  std::uint64_t mapped_bytes = 0;
  std::uint64_t resident_bytes = 0;
  std::uint64_t file_resident_bytes = 0;
};
Statm ReadStatm();

// The anonymous part of the resident set (RssAnon), in KiB: what allocators hold. Code
// pages that a first call faults in are file-backed and not counted, so a measurement is not
// charged for the program's own text.
inline std::int64_t AnonResidentKb() {
  const Statm statm = ReadStatm();
  return static_cast<std::int64_t>((statm.resident_bytes - statm.file_resident_bytes) / 1024);
}

// Peak resident set of this process so far, in KiB (getrusage's ru_maxrss).
long PeakRssKb();

// Minor page faults of this process so far (getrusage's ru_minflt): first touches of fresh pages.
std::int64_t MinorFaults();

// This process's anonymous memory on transparent huge pages now, in KiB (AnonHugePages in
// /proc/self/smaps_rollup); -1 when it cannot be read.
std::int64_t AnonHugePagesKb();

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_PROCESS_MEMORY_H_
