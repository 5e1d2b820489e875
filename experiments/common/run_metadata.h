// experiments/common/run_metadata.h: the facts that make a result file reproducible.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_

#include <string>

#include "nlohmann/json.hpp"

namespace experiments {

// Date (UTC, ISO 8601), git commit (and whether the tree was dirty), compiler and build flags,
// CPU model and count, kernel, the process allocator's identity and version, and the command line.
nlohmann::ordered_json CollectRunMetadata(int argc, char** argv);

// "model name" from /proc/cpuinfo, or "unknown".
std::string CpuModel();

// The compiler and the build mode this binary was compiled with, e.g. "g++ 12.2.0" and
// "-O2 (bazel -c opt), NDEBUG".
std::string CompilerDescription();
std::string BuildFlagsDescription();

// Peak resident set size of this process so far, in KiB (getrusage's ru_maxrss).
long PeakRssKb();

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_
