#include "experiments/replay/replay.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/common/interrupt.h"

namespace experiments::replay {
namespace {

using allocators::trace::Event;
using Clock = std::chrono::steady_clock;

// Events between interrupt checks: 5 ms (the null walk) to 0.5 s (the slowest policy here).
constexpr std::size_t kChunk = std::size_t{1} << 20;
// One allocation in this many, and one free, is timed alone. Reading the TSC costs ~25 ns on this
// machine's VM: reading it around every event would cap the walk near 35M events/s and bury a
// fast allocator's cost; one in 16 costs ~3 ns per event. Separate counts per kind, because a
// map's traffic alternates allocation and free, which every-k-th-event sampling would alias.
constexpr std::uint32_t kSampleEvery = 16;

// No allocator: a made-up pointer per allocation, which the walk stores and hands back like any
// other, so that the null walk does everything a real one does except call an allocator.
struct NullPolicy {
  void* allocate(std::size_t bytes) {
    void* p = reinterpret_cast<void*>(bytes + 8);
    asm volatile("" : "+r"(p));  // an opaque value, as a real allocator's would be
    return p;
  }
  void deallocate(void* p, std::size_t) { asm volatile("" : : "r"(p) : "memory"); }
};

// This thread's CPU time: unlike wall time, it leaves out the time other processes had the CPU
// (the matrix reports CPU time for the same reason).
std::int64_t ThreadCpuNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Walk {
  double ns_per_event = 0;
  double ns_per_alloc = 0;
  double ns_per_free = 0;
};

// Every event of `events` against `policy`; table[id] holds each live block. Every
// kSampleEvery-th allocation and free is timed alone (two TSC reads around it).
template <class Policy>
Walk WalkTrace(std::span<const Event> events, void** table, Policy& policy) {
  std::uint64_t sampled_ticks[2] = {0, 0};  // [0] allocations, [1] frees
  std::uint64_t samples[2] = {0, 0};
  std::uint32_t countdown[2] = {kSampleEvery, kSampleEvery};
  std::uint64_t tsc_ticks = 0;
  Clock::duration wall{};
  std::int64_t cpu_ns = 0;
  auto apply = [&](const Event& e) {
    if (e.is_free()) {
      policy.deallocate(table[e.id], e.bytes);
    } else {
      table[e.id] = policy.allocate(e.bytes);
    }
  };
  for (std::size_t begin = 0; begin < events.size(); begin += kChunk) {
    ThrowIfInterrupted();
    const std::span<const Event> chunk =
        events.subspan(begin, std::min(kChunk, events.size() - begin));
    const std::int64_t cpu_start = ThreadCpuNs();
    const auto start = Clock::now();
    const std::uint64_t tsc_start = __rdtsc();
    for (const Event& e : chunk) {
      const bool is_free = e.is_free();
      if (--countdown[is_free] != 0) [[likely]] {
        apply(e);
        continue;
      }
      countdown[is_free] = kSampleEvery;
      const std::uint64_t before = __rdtsc();
      apply(e);
      sampled_ticks[is_free] += __rdtsc() - before;
      ++samples[is_free];
    }
    tsc_ticks += __rdtsc() - tsc_start;
    wall += Clock::now() - start;
    cpu_ns += ThreadCpuNs() - cpu_start;
  }
  // The TSC's rate, from the same walk: no calibration loop, no assumption about the CPU.
  const double wall_ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
  const double ns_per_tick = tsc_ticks == 0 ? 0 : wall_ns / static_cast<double>(tsc_ticks);
  auto mean_ns = [&](int kind) {
    return samples[kind] == 0 ? 0.0
                              : static_cast<double>(sampled_ticks[kind]) * ns_per_tick /
                                    static_cast<double>(samples[kind]);
  };
  Walk walk;
  walk.ns_per_event =
      events.empty() ? 0 : static_cast<double>(cpu_ns) / static_cast<double>(events.size());
  walk.ns_per_alloc = mean_ns(0);
  walk.ns_per_free = mean_ns(1);
  return walk;
}

// The (id, bytes) of every block the trace never frees: a replay frees them after the walk.
std::vector<std::pair<std::uint32_t, std::uint32_t>> LiveAtEnd(
    const allocators::trace::Trace& trace, const allocators::trace::TraceSummary& summary) {
  std::vector<std::uint32_t> bytes(summary.id_limit);
  std::vector<bool> live(summary.id_limit);
  for (const Event& e : trace.events) {
    live[e.id] = !e.is_free();
    bytes[e.id] = e.bytes;
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (std::uint32_t id = 0; id < summary.id_limit; ++id) {
    if (live[id]) out.emplace_back(id, bytes[id]);
  }
  return out;
}

void AddWalk(ReplayResult& result, const Walk& walk) {
  result.ns_per_event.push_back(walk.ns_per_event);
  result.ns_per_alloc.push_back(walk.ns_per_alloc);
  result.ns_per_free.push_back(walk.ns_per_free);
}

// "VmRSS" or "VmHWM" of /proc/self/status, in KiB (0 when unreadable).
long StatusKb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return 0;
}

// The child's message: a status byte, then the result (0) or an error text (1).
void WriteAll(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);  // the parent is gone: nobody to tell
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Reads the child's whole message. Ctrl-C (or SIGTERM) sent to this process alone is passed on,
// so that the child stops within a chunk of events rather than finishing its replays.
std::string ReadAll(int fd, pid_t child) {
  std::string out;
  char buffer[4096];
  bool forwarded = false;
  for (;;) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) {  // a timeout, or a signal (EINTR): no data yet
      if (InterruptRequested() && !forwarded) {
        ::kill(child, SIGINT);
        forwarded = true;
      }
      continue;
    }
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

static_assert(std::is_trivially_copyable_v<allocators::AllocStats>);

std::string Encode(const ReplayResult& r) {
  std::string out(1, '\0');
  out.append(reinterpret_cast<const char*>(&r.stats), sizeof r.stats);
  const long rss[2] = {r.peak_rss_kb, r.rss_growth_kb};
  out.append(reinterpret_cast<const char*>(rss), sizeof rss);
  for (const std::vector<double>* v : {&r.ns_per_event, &r.ns_per_alloc, &r.ns_per_free}) {
    const std::uint64_t n = v->size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(reinterpret_cast<const char*>(v->data()), n * sizeof(double));
  }
  return out;
}

ReplayResult Decode(std::string_view policy, const std::string& message) {
  ReplayResult r;
  r.policy = std::string(policy);
  std::size_t at = 1;
  auto take = [&](void* dst, std::size_t n) {
    if (at + n > message.size()) throw std::runtime_error("replay child: short message");
    std::memcpy(dst, message.data() + at, n);
    at += n;
  };
  take(&r.stats, sizeof r.stats);
  long rss[2];
  take(rss, sizeof rss);
  r.peak_rss_kb = rss[0];
  r.rss_growth_kb = rss[1];
  for (std::vector<double>* v : {&r.ns_per_event, &r.ns_per_alloc, &r.ns_per_free}) {
    std::uint64_t n = 0;
    take(&n, sizeof n);
    if (n > 1'000'000) throw std::runtime_error("replay child: bad message");
    v->resize(n);
    take(v->data(), n * sizeof(double));
  }
  return r;
}

}  // namespace

ReplayResult Replay(const allocators::trace::Trace& trace,
                    const allocators::trace::TraceSummary& summary, std::string_view policy,
                    const allocators::PolicyOptions& options, int repetitions) {
  if (repetitions < 1) throw std::invalid_argument("repetitions must be at least 1");
  ReplayResult result;
  result.policy = std::string(policy);
  const std::span<const Event> events(trace.events);
  std::vector<void*> table(summary.id_limit);
  const auto leftovers = LiveAtEnd(trace, summary);
  for (int rep = 0; rep < repetitions; ++rep) {
    allocators::AllocStats stats;
    if (policy == kNullPolicy) {
      NullPolicy null;
      AddWalk(result, WalkTrace(events, table.data(), null));
      stats.allocations = summary.allocations;
      stats.deallocations = summary.frees;
      stats.bytes_allocated = summary.bytes_allocated;
      stats.peak_live_bytes = summary.peak_live_bytes;
    } else {
      stats = allocators::WithPolicy(policy, options, [&](auto made) {
        const Walk walk = WalkTrace(events, table.data(), made);
        const allocators::AllocStats after = made.stats();
        for (const auto& [id, bytes] : leftovers) made.deallocate(table[id], bytes);
        AddWalk(result, walk);
        return after;
      });
    }
    if (rep == 0) {
      result.stats = stats;
    } else if (!(stats == result.stats)) {
      throw std::runtime_error(absl::StrCat("replay of ", std::string(policy),
                                            ": counts differ between repetitions"));
    }
  }
  return result;
}

ReplayResult ReplayInChild(const allocators::trace::Trace& trace,
                           const allocators::trace::TraceSummary& summary, std::string_view policy,
                           const allocators::PolicyOptions& options, int repetitions) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(absl::StrCat("pipe: ", std::strerror(errno)));
  // Whatever the parent has buffered must not be written twice.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // The child dies with the parent, however the parent dies (kill -9 included).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(fds[0]);
    std::string message;
    int status = 0;
    try {
      const long rss_start = StatusKb("VmRSS");
      ReplayResult r = Replay(trace, summary, policy, options, repetitions);
      r.peak_rss_kb = StatusKb("VmHWM");
      r.rss_growth_kb = std::max(0L, r.peak_rss_kb - rss_start);
      message = Encode(r);
    } catch (const std::exception& error) {
      message = std::string(1, '\1') + error.what();
      status = 1;
    } catch (...) {
      message = std::string(1, '\1') + "replay of " + std::string(policy) + ": unknown exception";
      status = 1;
    }
    WriteAll(fds[1], message.data(), message.size());
    ::close(fds[1]);
    _exit(status);  // no atexit handlers, no static destructors: they are the parent's
  }
  ::close(fds[1]);
  const std::string message = ReadAll(fds[0], pid);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(absl::StrCat("replay of ", std::string(policy), " died of signal ",
                                          WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")"));
  }
  if (message.empty()) {
    throw std::runtime_error(absl::StrCat("replay of ", std::string(policy), " exited with status ",
                                          WEXITSTATUS(status), " and no result"));
  }
  if (message[0] != '\0') throw std::runtime_error(message.substr(1));
  return Decode(policy, message);
}

}  // namespace experiments::replay
