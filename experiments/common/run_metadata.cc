#include "experiments/common/run_metadata.h"

#include <gnu/libc-version.h>

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "allocators/process_malloc.h"
#include "allocators/sanitizers.h"
#include "experiments/common/console.h"
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

std::string GitCommit() {
  if (const char* given = std::getenv("HAMT_GIT_COMMIT"); given != nullptr && *given != '\0') {
    return given;
  }
  std::string commit = FirstLineOf("git rev-parse HEAD");
  if (commit.empty()) return "unknown";
  if (!FirstLineOf("git status --porcelain --untracked-files=no").empty()) commit += "-dirty";
  return commit;
}

namespace {

// 64-bit FNV-1a of `bytes`, continuing from `hash`.
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
std::uint64_t Fnv1a(std::uint64_t hash, absl::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

}  // namespace

std::string BinaryFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t hash = kFnvOffset, size = 0;
  std::array<char, 1 << 16> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    hash = Fnv1a(hash, absl::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    size += static_cast<std::uint64_t>(in.gcount());
  }
  return absl::StrCat(size, ":", absl::Hex(hash, absl::kZeroPad16));
}

std::string LibcVersion() { return absl::StrCat("glibc ", gnu_get_libc_version()); }

std::string KernelRelease() {
  utsname uts{};
  return ::uname(&uts) == 0 ? absl::StrCat(uts.sysname, " ", uts.release) : std::string("unknown");
}

std::optional<std::string> ConfigDifference(const nlohmann::ordered_json& recorded,
                                            const nlohmann::ordered_json& current) {
  // Every key of either, current's first.
  nlohmann::ordered_json both = current;
  for (const auto& [key, value] : recorded.items()) {
    if (!both.contains(key)) both[key] = nullptr;
  }
  for (const auto& [key, ignored] : both.items()) {
    const nlohmann::ordered_json value = current.contains(key) ? current[key] : nullptr;
    const nlohmann::ordered_json then = recorded.contains(key) ? recorded[key] : nullptr;
    if (then != value) {
      auto show = [](const nlohmann::ordered_json& v) {
        return v.is_string() ? QuoteValue(v.get<std::string>()) : QuoteValue(v.dump());
      };
      const bool is_flag = key != "process_malloc" && key != "binary";
      return absl::StrCat(is_flag ? "--" : "", key, ": ", show(then), " then, ", show(value),
                          " now");
    }
  }
  return std::nullopt;
}

const nlohmann::ordered_json& ConfigReader::Get(const char* key) const {
  if (!config_.is_object() || !config_.contains(key)) {
    throw SchemaError(absl::StrCat("config: no setting ", key));
  }
  return config_[key];
}

std::string ConfigReader::Str(const char* key) const {
  const nlohmann::ordered_json& value = Get(key);
  if (!value.is_string()) throw SchemaError(absl::StrCat("config.", key, ": not a string"));
  return value.get<std::string>();
}

std::uint64_t ConfigReader::Count(const char* key) const {
  const nlohmann::ordered_json& value = Get(key);
  if (!value.is_number_unsigned()) {
    throw SchemaError(absl::StrCat("config.", key, ": not a whole number"));
  }
  return value.get<std::uint64_t>();
}

std::vector<std::uint64_t> ConfigReader::Counts(const char* key) const {
  std::vector<std::uint64_t> counts;
  for (const std::string& part : Names(key)) {
    std::uint64_t count = 0;
    if (!absl::SimpleAtoi(part, &count)) {
      throw SchemaError(absl::StrCat("config.", key, ": ", QuoteValue(part), " is not a count"));
    }
    counts.push_back(count);
  }
  return counts;
}

std::vector<std::string> ConfigReader::Names(const char* key) const {
  const std::string text = Str(key);
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

std::string HostClass() {
  static const std::string host = [] {
    const std::string facts =
        absl::StrCat(CpuModel(), "|", std::thread::hardware_concurrency(), "|", KernelRelease(),
                     "|", LibcVersion());
    return absl::StrCat(absl::Hex(Fnv1a(kFnvOffset, facts) >> 16, absl::kZeroPad12));
  }();
  return host;
}

Record<schema::RunMetadata> NewRunMetadata(const std::string& experiment, const std::string& mode,
                                           const std::string& run_id, int argc, char** argv,
                                           const nlohmann::ordered_json& config) {
  const std::string kernel = KernelRelease();
  return RecordFrom<schema::RunMetadata>([&](schema::RunMetadata::Field field) -> Value {
    using F = schema::RunMetadata::Field;
    switch (field) {  // no default: a new schema field must be written here
      case F::kExperiment: return experiment;
      case F::kSchemaVersion: return std::int64_t{schema::kVersion};
      case F::kMode: return mode;
      case F::kRunId: return run_id;
      case F::kDate:
        return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
      case F::kGitCommit: return GitCommit();
      case F::kCompiler: return CompilerDescription();
      case F::kBuildFlags: return BuildFlagsDescription();
      case F::kCpuModel: return CpuModel();
      case F::kCpuCount: return static_cast<std::int64_t>(std::thread::hardware_concurrency());
      case F::kKernel: return kernel;
      case F::kProcessMalloc: return allocators::DetectProcessMalloc().Describe();
      case F::kLibc: return LibcVersion();
      case F::kHost: return HostClass();
      case F::kArgv: return std::vector<std::string>(argv, argv + argc);
      case F::kConfig: return config;
      case F::kComplete: return false;
      case F::kSessions: return std::int64_t{1};
      case F::kDurationSeconds: return 0.0;
    }
    throw SchemaError("run_metadata: unknown field");
  });
}

}  // namespace experiments
