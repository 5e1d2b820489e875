#include "experiments/common/run_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <csignal>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "experiments/common/output.h"

namespace experiments {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCompleteMarker = ".complete";

std::string Errno() { return std::strerror(errno); }

std::string ProcessCommand(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  for (char c : raw) out += c == '\0' ? ' ' : c;
  out = std::string(absl::StripAsciiWhitespace(out));
  if (const auto slash = out.rfind('/', out.find(' ')); slash != std::string::npos) {
    out = out.substr(slash + 1);
  }
  return out.size() > 80 ? out.substr(0, 77) + "..." : out;
}

// "pid 4242 (pool_exhaustion --sweep), since 2026-11-29 18:02:11 UTC", from the lock file.
std::string Holder(int fd) {
  char buffer[256] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  const std::string first_line = text.substr(0, text.find('\n'));
  pid_t pid = 0;
  if (!absl::SimpleAtoi(first_line, &pid) || pid <= 0) return "another process";
  std::string since = text.find('\n') == std::string::npos ? "" : text.substr(text.find('\n') + 1);
  since = std::string(absl::StripAsciiWhitespace(since));
  std::string command = ProcessCommand(pid);
  return absl::StrCat("pid ", pid, command.empty() ? "" : absl::StrCat(" (", command, ")"),
                      since.empty() ? "" : absl::StrCat(", since ", since));
}

bool IsComplete(const fs::path& run) { return fs::exists(run / kCompleteMarker); }

// A run id as NewRunId() makes them: 20261129T180211Z-4242. Nothing else in <stem>.runs/ is ours.
bool IsRunId(const std::string& name) {
  static const std::regex pattern("[0-9]{8}T[0-9]{6}Z-[0-9]+");
  return std::regex_match(name, pattern);
}

// Run directories of a stem, oldest first (run ids start with the UTC time, so names sort by age).
std::vector<fs::path> Runs(const fs::path& runs_dir) {
  std::vector<fs::path> runs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs_dir, ec)) {
    if (entry.is_directory() && !entry.is_symlink() && IsRunId(entry.path().filename().string())) {
      runs.push_back(entry.path());
    }
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

// "<name>.tmp.<pid>" of a process that no longer exists: what WriteFileAtomically and
// ReplaceSymlink leave behind when killed.
bool IsDeadWritersTemporary(const std::string& name) {
  static const std::regex pattern(".+\\.tmp\\.([0-9]+)");
  std::smatch match;
  if (!std::regex_match(name, match, pattern)) return false;
  const long pid = std::stol(match[1].str());
  return pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Makes `link` a symlink to `target` with one rename (so a reader never finds it missing).
void ReplaceSymlink(const fs::path& link, const fs::path& target) {
  const fs::path temporary = link.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0 ||
      ::rename(temporary.c_str(), link.c_str()) != 0) {
    const std::string why = Errno();
    ::unlink(temporary.c_str());
    throw OutputError(absl::StrCat("cannot publish ", link.string(), ": ", why));
  }
}

}  // namespace

RunStore::RunStore(fs::path dir, std::string stem, int lock_fd)
    : dir_(std::move(dir)), stem_(std::move(stem)), lock_fd_(lock_fd) {}

RunStore::RunStore(RunStore&& other) noexcept
    : dir_(std::move(other.dir_)),
      stem_(std::move(other.stem_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      run_dir_(std::move(other.run_dir_)) {}

RunStore::~RunStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

RunStore RunStore::Open(const fs::path& dir, std::string stem, bool wait, const Note& note) {
  const fs::path lock_path = dir / ".lock";
  // O_NOFOLLOW: a symlink planted at .lock must not make us truncate what it points to.
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw OutputError(absl::StrCat("cannot create ", lock_path.string(), ": ", Errno()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      const std::string why = Errno();
      ::close(fd);
      throw OutputError(absl::StrCat("cannot lock ", lock_path.string(), ": ", why));
    }
    const std::string holder = Holder(fd);
    if (!wait) {
      ::close(fd);
      throw OutputError(absl::StrCat(dir.string(), " is in use by ", holder,
                                     "; wait for it, pass --wait_for_lock, or choose another --out"));
    }
    note(absl::StrCat("waiting for ", holder, " to finish with ", dir.string(), "..."));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const std::string why = Errno();
        ::close(fd);
        throw OutputError(absl::StrCat("cannot lock ", lock_path.string(), ": ", why));
      }
    }
  }
  const std::string holder_text = absl::StrCat(
      ::getpid(), "\n", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()),
      "\n");
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, holder_text.data(), holder_text.size(), 0) !=
          static_cast<ssize_t>(holder_text.size())) {
    const std::string why = Errno();
    ::close(fd);
    throw OutputError(absl::StrCat("cannot write ", lock_path.string(), ": ", why));
  }
  RunStore store(dir, std::move(stem), fd);
  std::error_code ec;
  fs::create_directories(store.runs_dir(), ec);
  if (ec) {
    throw OutputError(absl::StrCat("cannot create ", store.runs_dir().string(), ": ", ec.message()));
  }
  store.RemoveStaleTemporaries();
  return store;
}

fs::path RunStore::runs_dir() const { return dir_ / (stem_ + ".runs"); }
fs::path RunStore::current_link() const { return dir_ / (stem_ + ".current"); }

void RunStore::RemoveStaleTemporaries() const {
  // Every writer holds the lock, and we hold it now. In a run directory (all ours) any dead
  // writer's temporary goes; in D only the temporaries of our own links (D holds other files too).
  std::error_code ec;
  for (const fs::path& run : Runs(runs_dir())) {
    for (const auto& entry : fs::directory_iterator(run, ec)) {
      if (IsDeadWritersTemporary(entry.path().filename().string())) fs::remove(entry.path(), ec);
    }
  }
  std::vector<std::string> links = {stem_ + ".current"};
  if (const std::optional<fs::path> published = Published()) {
    for (const auto& entry : fs::directory_iterator(*published, ec)) {
      links.push_back(entry.path().filename().string());
    }
  }
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_symlink() || !IsDeadWritersTemporary(name)) continue;
    const std::string base = name.substr(0, name.rfind(".tmp."));
    if (std::find(links.begin(), links.end(), base) != links.end()) fs::remove(entry.path(), ec);
  }
}

std::optional<fs::path> RunStore::LatestIncomplete() const {
  const std::vector<fs::path> runs = Runs(runs_dir());
  const std::optional<fs::path> published = Published();
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    std::error_code ec;
    if (published && fs::equivalent(*it, *published, ec)) continue;
    if (!IsComplete(*it)) return *it;
  }
  return std::nullopt;
}

std::optional<fs::path> RunStore::Published() const {
  std::error_code ec;
  const fs::path target = fs::read_symlink(current_link(), ec);
  if (ec) return std::nullopt;
  return dir_ / target;
}

void RunStore::StartNew(const std::string& run_id, const Note& note) {
  if (const std::optional<fs::path> interrupted = LatestIncomplete()) {
    note(absl::StrCat("an interrupted run is in ", interrupted->string(),
                      "; this new run replaces it when it completes (--resume continues it "
                      "instead)"));
  }
  run_dir_ = runs_dir() / run_id;
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  if (ec) throw OutputError(absl::StrCat("cannot create ", run_dir_.string(), ": ", ec.message()));
}

void RunStore::Continue(const fs::path& run_dir) { run_dir_ = run_dir; }

void RunStore::Write(const std::string& name, absl::string_view contents) const {
  WriteFileAtomically(run_dir_ / name, contents);
}

void RunStore::Publish() {
  // The switch comes first: a run whose switch fails (disk full, kill -9) stays incomplete, and
  // --resume publishes it; the marker only tells older runs from the newest incomplete one.
  const std::optional<fs::path> previous = Published();
  ReplaceSymlink(current_link(), fs::path(stem_ + ".runs") / run_dir_.filename());
  // Stable names for every file of the run; leftovers of a larger earlier set are removed.
  std::error_code ec;
  const std::string prefix = stem_ + ".current/";
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::error_code link_ec;
    const fs::path target = fs::read_symlink(entry.path(), link_ec);
    if (!link_ec && absl::StartsWith(target.string(), prefix) && !fs::exists(entry.path())) {
      fs::remove(entry.path(), link_ec);
    }
  }
  for (const auto& entry : fs::directory_iterator(run_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_regular_file()) continue;
    const fs::path link = dir_ / name;
    const fs::path target = fs::path(prefix + name);
    std::error_code link_ec;
    if (fs::read_symlink(link, link_ec) == target) continue;
    ReplaceSymlink(link, target);
  }
  SyncDirectory(dir_);
  Write(kCompleteMarker, "");
  // Keep the published run and the one it replaced; everything else of this stem is superseded.
  for (const fs::path& run : Runs(runs_dir())) {
    if (run == run_dir_ || (previous && fs::equivalent(run, *previous, ec))) continue;
    fs::remove_all(run, ec);
  }
}

std::string RunStore::NewRunId() {
  return absl::StrCat(absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()), "-",
                      ::getpid());
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OutputError(absl::StrCat("cannot read ", path.string(), ": ", Errno()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace experiments
