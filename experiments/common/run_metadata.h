// experiments/common/run_metadata.h: the facts that make a result file reproducible.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "experiments/common/records.h"
#include "experiments/schema/schema.h"
#include "nlohmann/json.hpp"

namespace experiments {

// A run_metadata record (experiments/schema/schema.json) for a run starting now: date (UTC), git
// commit (and whether the tree was dirty), compiler and build flags, CPU model and count, kernel,
// the process allocator's identity, the command line and `config`; not complete, one session,
// no time spent yet.
Record<schema::RunMetadata> NewRunMetadata(const std::string& experiment, const std::string& mode,
                                           const std::string& run_id, int argc, char** argv,
                                           const nlohmann::ordered_json& config);

// The first setting in which `recorded` (a run's metadata.config) differs from `current`, as
// "--n: 1000,10000 then, 1000 now"; nullopt when they are equal.
std::optional<std::string> ConfigDifference(const nlohmann::ordered_json& recorded,
                                            const nlohmann::ordered_json& current);

// Reads a run's settings (metadata.config) back; every accessor throws SchemaError naming a
// setting that is missing or of another type.
class ConfigReader {
 public:
  explicit ConfigReader(const nlohmann::ordered_json& config) : config_(config) {}
  std::string Str(const char* key) const;
  std::uint64_t Count(const char* key) const;
  std::vector<std::uint64_t> Counts(const char* key) const;  // "1000,10000"
  std::vector<std::string> Names(const char* key) const;     // "a,b"; "" is none
  // Names() as values of `known`, each named by name_of(value).
  template <class T, class NameOf>
  std::vector<T> Enums(const char* key, std::span<const T> known, NameOf name_of) const {
    std::vector<T> values;
    for (const std::string& name : Names(key)) {
      const auto it = std::find_if(known.begin(), known.end(),
                                   [&](const T& value) { return name_of(value) == name; });
      if (it == known.end()) throw SchemaError("config." + std::string(key) + ": unknown " + name);
      values.push_back(*it);
    }
    return values;
  }

 private:
  const nlohmann::ordered_json& Get(const char* key) const;
  const nlohmann::ordered_json& config_;
};

// The workspace's git commit when the run starts, with "-dirty" when tracked files have
// uncommitted changes; "unknown" outside a git checkout. HAMT_GIT_COMMIT, when set, is taken
// instead: a job scheduler's tasks run copies of binaries made earlier, and the commit recorded
// when they were copied names them better than the workspace's at run time
// (experiments/slurm/submit_sweep.sh sets it). It names the sources, not necessarily
// the binary (which may have been built from other ones): BinaryFingerprint() names that.
std::string GitCommit();

// An executable's identity (by default this one's): its size and a 64-bit FNV-1a hash of its bytes
// ("4817920:9a3f..."). Two runs with equal fingerprints ran the same machine code.
std::string BinaryFingerprint(const std::string& path = "/proc/self/exe");

// "model name" from /proc/cpuinfo, or "unknown".
std::string CpuModel();

// "glibc 2.36", and "Linux 6.1.0-..." (uname), or "unknown".
std::string LibcVersion();
std::string KernelRelease();

// The host class this process runs on: 12 hex digits hashing the CPU model, core count, kernel and
// C library (run_metadata.host). Timings compare only within one class. The process malloc is not
// part of it: it is a treatment the experiments vary (the allocator matrix compares across it), and
// every record names it in a column of its own.
std::string HostClass();

// The compiler and the build mode this binary was compiled with, e.g. "g++ 12.2.0" and
// "-O2 (bazel -c opt), NDEBUG".
std::string CompilerDescription();
std::string BuildFlagsDescription();

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_METADATA_H_
