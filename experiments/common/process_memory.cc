#include "experiments/common/process_memory.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace experiments {

Statm ReadStatm() {
  Statm statm;
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return statm;
  char text[128];
  const ssize_t got = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (got <= 0) return statm;
  text[got] = '\0';
  unsigned long long size = 0;
  unsigned long long resident = 0;
  unsigned long long shared = 0;
  if (std::sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3) return statm;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  statm.mapped_bytes = size * page;
  statm.resident_bytes = resident * page;
  statm.file_resident_bytes = shared * page;
  return statm;
}

long PeakRssKb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::int64_t MinorFaults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

std::int64_t AnonHugePagesKb() {
  const int fd = ::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[4096];  // smaps_rollup is about 25 short lines
  std::size_t used = 0;
  for (ssize_t got; used < sizeof text - 1 &&
                    (got = ::read(fd, text + used, sizeof text - 1 - used)) > 0;) {
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  text[used] = '\0';
  const char* line = std::strstr(text, "\nAnonHugePages:");
  unsigned long long kb = 0;
  if (line == nullptr || std::sscanf(line, "\nAnonHugePages: %llu kB", &kb) != 1) return -1;
  return static_cast<std::int64_t>(kb);
}

}  // namespace experiments
