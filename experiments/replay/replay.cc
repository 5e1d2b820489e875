#include "experiments/replay/replay.h"

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/common/child_process.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/process_memory.h"
#include "experiments/common/run_metadata.h"

namespace experiments::replay {
namespace {

using allocators::trace::Event;
using Clock = std::chrono::steady_clock;

// Events between interrupt checks: 5 ms (the null walk) to 0.5 s (the slowest policy here).
constexpr std::size_t kChunk = std::size_t{1} << 20;
// The seed of the sampling gaps: the same calls are timed in every walk of a trace, the null
// walk's included, so that its cost is subtracted call for call.
constexpr std::uint64_t kSampleSeed = 0x9e3779b97f4a7c15;

// The gaps between timed calls of one kind, drawn uniformly from [kSampleGapMin, kSampleGapMax].
class SampleGaps {
 public:
  explicit SampleGaps(std::uint64_t seed) : state_(seed) {}
  std::uint32_t Next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    z ^= z >> 31;
    return kSampleGapMin + static_cast<std::uint32_t>(z % (kSampleGapMax - kSampleGapMin + 1));
  }

 private:
  std::uint64_t state_;
};

// TSC reads that fence the timed call in: nothing before the first read and nothing after the
// second moves into the interval, in the CPU (lfence, rdtscp) or in the compiler (the asm
// barriers).
inline std::uint64_t TscStart() {
  asm volatile("" ::: "memory");
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  asm volatile("" ::: "memory");
  return t;
}

inline std::uint64_t TscStop() {
  asm volatile("" ::: "memory");
  unsigned int cpu;
  const std::uint64_t t = __rdtscp(&cpu);
  _mm_lfence();
  asm volatile("" ::: "memory");
  return t;
}

// No allocator: every allocation gets the same scratch byte, which the walk writes and hands back
// like any other block, so that the null walk does everything a real one does except call an
// allocator (and miss the cache or fault a page on a block's first write).
struct NullPolicy {
  void* allocate(std::size_t) {
    void* p = scratch;
    asm volatile("" : "+r"(p));  // an opaque value, as a real allocator's would be
    return p;
  }
  void deallocate(void* p, std::size_t) { asm volatile("" : : "r"(p) : "memory"); }
  unsigned char scratch[64] = {};  // no alignas: ASan's fake stack would not honour it
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
  std::optional<double> ns_per_alloc;  // none when no allocation was timed
  std::optional<double> ns_per_free;   // none when no free was timed
};

// Every event of `events` (not empty) against `policy`; table[id] holds each live block. One
// allocation after each gap of SampleGaps, and likewise one free, is timed alone (two fenced TSC
// reads around it).
template <class Policy>
Walk WalkTrace(std::span<const Event> events, void** table, Policy& policy) {
  std::uint64_t sampled_ticks[2] = {0, 0};  // [0] allocations, [1] frees
  std::uint64_t samples[2] = {0, 0};
  SampleGaps gaps[2] = {SampleGaps(kSampleSeed), SampleGaps(kSampleSeed + 1)};
  std::uint32_t countdown[2] = {gaps[0].Next(), gaps[1].Next()};
  std::uint64_t tsc_ticks = 0;
  Clock::duration wall{};
  std::int64_t cpu_ns = 0;
  auto apply = [&](const Event& e) {
    if (e.is_free()) {
      policy.deallocate(table[e.id], e.bytes);
    } else {
      void* const p = policy.allocate(e.bytes);
      // The first byte of every block is written, as a map writes its node: a pool's pages are
      // then resident as in a live run, and peak RSS means what it would there.
      if (e.bytes != 0) *static_cast<volatile unsigned char*>(p) = 0;
      table[e.id] = p;
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
      countdown[is_free] = gaps[is_free].Next();
      const std::uint64_t before = TscStart();
      apply(e);
      sampled_ticks[is_free] += TscStop() - before;
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
  auto mean_ns = [&](int kind) -> std::optional<double> {
    if (samples[kind] == 0) return std::nullopt;
    return static_cast<double>(sampled_ticks[kind]) * ns_per_tick /
           static_cast<double>(samples[kind]);
  };
  Walk walk;
  walk.ns_per_event = static_cast<double>(cpu_ns) / static_cast<double>(events.size());
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
  // Which calls are timed depends only on the trace, so a kind is timed in every walk or in none.
  if (walk.ns_per_alloc) result.ns_per_alloc.push_back(*walk.ns_per_alloc);
  if (walk.ns_per_free) result.ns_per_free.push_back(*walk.ns_per_free);
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

void CheckReplayable(const allocators::trace::Trace& trace,
                     const allocators::trace::TraceSummary& summary) {
  using allocators::trace::TraceError;
  const std::uint64_t metadata_bytes = trace.metadata.size();
  if (trace.events.empty()) {
    throw TraceError(allocators::trace::EventsOffset(metadata_bytes),
                     "no events: nothing to replay");
  }
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    const Event& e = trace.events[i];
    auto fail = [&](const std::string& message) {
      throw TraceError(allocators::trace::EventOffset(metadata_bytes, i),
                       absl::StrCat("event ", i, ": ", message));
    };
    if (summary.threads > 1 && e.thread() != 0) {
      fail(absl::StrCat("thread ", e.thread(),
                        ": the replay replays single-threaded traces only"));
    }
    if (!e.is_free() && e.bytes > kMaxReplayBytes) {
      fail(absl::StrCat("allocation of ", e.bytes, " bytes, above the replay's limit of ",
                        kMaxReplayBytes));
    }
  }
}

ReplayResult Replay(const allocators::trace::Trace& trace,
                    const allocators::trace::TraceSummary& summary, std::string_view policy,
                    const allocators::PolicyOptions& options, int repetitions) {
  if (repetitions < 1) throw std::invalid_argument("repetitions must be at least 1");
  if (trace.events.empty()) throw std::invalid_argument("an empty trace has nothing to replay");
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
      result.peak_rss_kb = std::max(result.peak_rss_kb, experiments::PeakRssKb());
      stats.allocations = summary.allocations;
      stats.deallocations = summary.frees;
      stats.bytes_allocated = summary.bytes_allocated;
      stats.peak_live_bytes = summary.peak_live_bytes;
    } else {
      stats = allocators::WithPolicy(policy, options, [&](auto made) {
        const Walk walk = WalkTrace(events, table.data(), made);
        const allocators::AllocStats after = made.stats();
        result.peak_rss_kb = std::max(result.peak_rss_kb, experiments::PeakRssKb());
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
  const experiments::ChildExit child = experiments::RunInChild([&](int) {
    try {
      // Right after fork the child's peak RSS is its RSS: the kernel starts its high-water mark
      // afresh.
      const long rss_start = experiments::PeakRssKb();
      ReplayResult r = Replay(trace, summary, policy, options, repetitions);
      r.rss_growth_kb = std::max(0L, r.peak_rss_kb - rss_start);
      return Encode(r);
    } catch (const std::exception& error) {
      return std::string(1, '\1') + error.what();
    }
  });
  const std::string& message = child.message;
  if (child.status != 0 || message.empty()) {
    throw std::runtime_error(absl::StrCat("replay of ", std::string(policy), ": ",
                                          experiments::DescribeStatus(child.status),
                                          message.empty() ? " and no result" : ""));
  }
  if (message[0] != '\0') throw std::runtime_error(message.substr(1));
  return Decode(policy, message);
}

}  // namespace experiments::replay
