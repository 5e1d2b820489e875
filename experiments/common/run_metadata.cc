#include "experiments/common/run_metadata.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "allocators/process_malloc.h"
#include "allocators/sanitizers.h"
#include "experiments/common/output.h"

namespace experiments {
namespace {

// Runs a short command in the workspace and returns its first output line ("" on failure).
std::string FirstLineOf(const std::string& command) {
  const std::string full =
      absl::StrCat("cd '", WorkspaceDirectory().string(), "' 2>/dev/null && ", command, " 2>/dev/null");
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return "";
  std::array<char, 256> buffer{};
  std::string line;
  if (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) line = buffer.data();
  ::pclose(pipe);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return std::string(absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "unknown";
}

std::string CompilerDescription() {
#if defined(__clang__)
  return absl::StrCat("clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  return absl::StrCat("g++ ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string BuildFlagsDescription() {
  std::string flags = "-std=c++20 -mpopcnt";
#if defined(__OPTIMIZE__)
  absl::StrAppend(&flags, " optimized");
#else
  absl::StrAppend(&flags, " -O0 (debug numbers: do not publish)");
#endif
#if defined(NDEBUG)
  absl::StrAppend(&flags, " NDEBUG");
#else
  absl::StrAppend(&flags, " assertions-on");
#endif
#if defined(HAMT_ADDRESS_SANITIZER)
  absl::StrAppend(&flags, " -fsanitize=address");
#endif
#if defined(HAMT_THREAD_SANITIZER)
  absl::StrAppend(&flags, " -fsanitize=thread");
#endif
  return flags;
}

long PeakRssKb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::string GitCommit() {
  std::string commit = FirstLineOf("git rev-parse HEAD");
  if (commit.empty()) return "unknown";
  if (!FirstLineOf("git status --porcelain --untracked-files=no").empty()) commit += "-dirty";
  return commit;
}

Record<schema::RunMetadata> NewRunMetadata(const std::string& experiment, const std::string& mode,
                                           const std::string& run_id, int argc, char** argv,
                                           const nlohmann::ordered_json& config) {
  using F = schema::RunMetadata::Field;
  Record<schema::RunMetadata> m;
  utsname uts{};
  const std::string kernel =
      ::uname(&uts) == 0 ? absl::StrCat(uts.sysname, " ", uts.release) : std::string("unknown");
  m.Set(F::kExperiment, experiment)
      .Set(F::kSchemaVersion, schema::kVersion)
      .Set(F::kMode, mode)
      .Set(F::kRunId, run_id)
      .Set(F::kDate, absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()))
      .Set(F::kGitCommit, GitCommit())
      .Set(F::kCompiler, CompilerDescription())
      .Set(F::kBuildFlags, BuildFlagsDescription())
      .Set(F::kCpuModel, CpuModel())
      .Set(F::kCpuCount, std::thread::hardware_concurrency())
      .Set(F::kKernel, kernel)
      .Set(F::kProcessMalloc, allocators::DetectProcessMalloc().Describe())
      .Set(F::kArgv, std::vector<std::string>(argv, argv + argc))
      .Set(F::kConfig, config)
      .Set(F::kComplete, false)
      .Set(F::kSessions, 1)
      .Set(F::kDurationSeconds, 0.0);
  return m;
}

}  // namespace experiments
