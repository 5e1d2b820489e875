// hamt::Map against libhamt (github.com/mkirchner/hamt), side by side in one process.
//
// Not built by Bazel: libhamt is not vendored. tools/compare_libhamt.sh compiles libhamt's C
// sources from a checkout outside the repo and links them with this driver:
//   tools/compare_libhamt.sh [--reps-small=41] [--reps-large=7] [--check-10m]
//
// Workloads (as in experiments/hamt_bench/bench.cc): int64 keys 0..N-1, in order or shuffled
// (mt19937_64(12345)), N = 10,000 and 1,000,000. "insert" times building an empty map from all N
// keys (creation and destruction are outside the timed region); "find" times N successful lookups,
// in the same key order, on the map just built. Every repetition runs every contender once, in a
// rotating order, and the report gives the median ns/key over repetitions.
//
// Contenders:
//   ours/malloc    hamt::Map<int64_t, int64_t> with allocators::MallocPolicy (the default)
//   ours/recycler  hamt::Map<int64_t, int64_t> with allocators::SlotRecycler (64 slots per key)
//   libhamt/set    libhamt's mutable hamt_set / hamt_get, default (malloc) allocator
//   libhamt/pset   libhamt's persistent hamt_pset (every insert returns a new version); versions
//                  are never freed (libhamt has no way to), so each repetition runs in a forked
//                  child that exits afterwards. find uses hamt_get on the last version.
// libhamt is used the way its test/perf.c uses it: keys and values are pointers to caller-owned
// storage (here two int64 arrays), the hash is murmur3_32(key bytes, 8, gen) and the comparator
// compares the pointed-to int64s. Lookups pass a pointer to a stack copy of the key.
//
// Every find is checked: a missing key or a wrong value is counted and reported.
// --check-10m additionally inserts 0..9,999,999 in order into both maps and checks every value.
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "allocators/malloc_policy.h"
#include "allocators/slot_pool.h"
#include "allocators/slot_recycler.h"
#include "hamt/hamt.h"

// libhamt's `struct hamt` would clash with our namespace hamt at global scope, so its C API is
// declared inside a namespace; the functions keep C linkage and link against libhamt's objects.
namespace libhamt {
extern "C" {
#include <hamt.h>     // from $LIBHAMT_DIR/include
#include <murmur3.h>  // from $LIBHAMT_DIR/include
}
}  // namespace libhamt

namespace {

using Key = std::int64_t;
using Value = std::int64_t;
using Clock = std::chrono::steady_clock;

template <class Policy>
using OurMap = hamt::Map<Key, Value, absl::Hash<Key>, std::equal_to<Key>, Policy>;

constexpr Value ValueFor(Key key) { return key * 2 + 1; }

// ---- libhamt glue, following test/perf.c ----

std::uint32_t KeyHash(const void* key, const std::size_t gen) {
  return libhamt::murmur3_32(static_cast<const std::uint8_t*>(key), sizeof(Key),
                             static_cast<std::uint32_t>(gen));
}

int KeyCmp(const void* lhs, const void* rhs) {
  const Key a = *static_cast<const Key*>(lhs);
  const Key b = *static_cast<const Key*>(rhs);
  return (a > b) - (a < b);
}

// A counting allocator for libhamt's hooks (sized free, like our policies), used only for the
// untimed bytes-per-entry build.
struct CountingCtx {
  std::int64_t live = 0;
  std::int64_t peak = 0;
};
void* CountingMalloc(const std::ptrdiff_t size, void* ctx) {
  auto* c = static_cast<CountingCtx*>(ctx);
  c->live += size;
  c->peak = std::max(c->peak, c->live);
  return std::malloc(static_cast<std::size_t>(size));
}
void* CountingRealloc(void* ptr, const std::ptrdiff_t old_size, const std::ptrdiff_t new_size,
                      void* ctx) {
  static_cast<CountingCtx*>(ctx)->live += new_size - old_size;
  return std::realloc(ptr, static_cast<std::size_t>(new_size));
}
void CountingFree(void* ptr, const std::ptrdiff_t size, void* ctx) {
  static_cast<CountingCtx*>(ctx)->live -= size;
  std::free(ptr);
}

libhamt::hamt* NewLibhamt(libhamt::hamt_allocator* ator) {
  libhamt::hamt_config cfg{};
  cfg.ator = ator;
  cfg.key_cmp_fn = KeyCmp;
  cfg.key_hash_fn = KeyHash;
  return libhamt::hamt_create(&cfg);
}

// ---- workload ----

struct Workload {
  std::vector<Key> keys;      // insertion and lookup order
  std::vector<Value> values;  // values[i] = ValueFor(keys[i]); libhamt's value storage
};

Workload MakeWorkload(std::size_t n, bool shuffled) {
  Workload w;
  w.keys.resize(n);
  std::iota(w.keys.begin(), w.keys.end(), Key{0});
  if (shuffled) std::shuffle(w.keys.begin(), w.keys.end(), std::mt19937_64(12345));
  w.values.resize(n);
  for (std::size_t i = 0; i < n; ++i) w.values[i] = ValueFor(w.keys[i]);
  return w;
}

double NsPerKey(Clock::time_point begin, Clock::time_point end, std::size_t n) {
  return std::chrono::duration<double, std::nano>(end - begin).count() / static_cast<double>(n);
}

struct Sample {
  double insert_ns = 0;
  double find_ns = 0;
  std::size_t bad = 0;  // lookups that returned nothing or a wrong value
};

template <class Policy>
OurMap<Policy> MakeOurs(std::size_t n) {
  if constexpr (std::is_same_v<Policy, allocators::SlotRecycler>) {
    return OurMap<Policy>(allocators::SlotRecycler(
        allocators::PoolOptions{.capacity_slots = 64 * n, .warn_utilization = 0.8, .quiet = true}));
  } else {
    return OurMap<Policy>();
  }
}

template <class Policy>
Sample RunOurs(const Workload& w) {
  const std::size_t n = w.keys.size();
  Sample s;
  auto map = MakeOurs<Policy>(n);
  const auto t0 = Clock::now();
  for (Key key : w.keys) map.try_emplace(key, ValueFor(key));
  const auto t1 = Clock::now();
  std::size_t bad = 0;
  for (Key key : w.keys) {
    const Value* v = map.find(key);
    bad += (v == nullptr || *v != ValueFor(key));
  }
  const auto t2 = Clock::now();
  s.insert_ns = NsPerKey(t0, t1, n);
  s.find_ns = NsPerKey(t1, t2, n);
  s.bad = bad + (map.size() != n);
  return s;  // the map is destroyed here, outside the timed regions
}

// Looks every key up in libhamt `t`; counts missing keys and wrong values.
std::size_t FindAllLibhamt(const libhamt::hamt* t, const Workload& w) {
  std::size_t bad = 0;
  for (Key key : w.keys) {
    Key probe = key;
    const void* v = libhamt::hamt_get(t, &probe);
    bad += (v == nullptr || *static_cast<const Value*>(v) != ValueFor(key));
  }
  return bad;
}

Sample RunLibhamtSet(Workload& w) {
  const std::size_t n = w.keys.size();
  Sample s;
  libhamt::hamt* t = NewLibhamt(&libhamt::hamt_allocator_default);
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) libhamt::hamt_set(t, &w.keys[i], &w.values[i]);
  const auto t1 = Clock::now();
  const std::size_t bad = FindAllLibhamt(t, w);
  const auto t2 = Clock::now();
  s.insert_ns = NsPerKey(t0, t1, n);
  s.find_ns = NsPerKey(t1, t2, n);
  s.bad = bad + (libhamt::hamt_size(t) != n);
  libhamt::hamt_delete(t);
  return s;
}

// hamt_pset leaks every superseded version, so it runs in a child process that exits afterwards.
Sample RunLibhamtPset(Workload& w) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    const std::size_t n = w.keys.size();
    Sample s;
    const libhamt::hamt* t = NewLibhamt(&libhamt::hamt_allocator_default);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) t = libhamt::hamt_pset(t, &w.keys[i], &w.values[i]);
    const auto t1 = Clock::now();
    const std::size_t bad = FindAllLibhamt(t, w);
    const auto t2 = Clock::now();
    s.insert_ns = NsPerKey(t0, t1, n);
    s.find_ns = NsPerKey(t1, t2, n);
    s.bad = bad + (libhamt::hamt_size(t) != n);
    const ssize_t written = write(fds[1], &s, sizeof s);
    _exit(written == static_cast<ssize_t>(sizeof s) ? 0 : 1);
  }
  close(fds[1]);
  Sample s;
  const ssize_t got = read(fds[0], &s, sizeof s);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof s) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "pset child failed\n");
    std::exit(1);
  }
  return s;
}

enum Contender { kOursMalloc, kOursRecycler, kLibhamtSet, kLibhamtPset, kContenders };
constexpr const char* kNames[kContenders] = {"ours/malloc", "ours/recycler", "libhamt/set",
                                             "libhamt/pset"};

Sample Run(Contender c, Workload& w) {
  switch (c) {
    case kOursMalloc: return RunOurs<allocators::MallocPolicy>(w);
    case kOursRecycler: return RunOurs<allocators::SlotRecycler>(w);
    case kLibhamtSet: return RunLibhamtSet(w);
    case kLibhamtPset: return RunLibhamtPset(w);
    default: std::abort();
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---- bytes per entry (untimed builds) ----

struct Footprint {
  double ours_malloc_policy = 0;    // live_bytes / N
  double ours_malloc_heap = 0;      // mallinfo2 uordblks delta / N (includes malloc overhead)
  double ours_recycler_policy = 0;  // live_bytes / N
  double ours_recycler_pool = 0;    // high_water_slots * 8 / N (pool bytes carved)
  double libhamt_hooks = 0;         // bytes requested through hamt_allocator / N
  double libhamt_heap = 0;          // mallinfo2 uordblks delta / N (includes malloc overhead)
};

Footprint MeasureFootprint(Workload& w) {
  const std::size_t n = w.keys.size();
  const auto per = [n](double bytes) { return bytes / static_cast<double>(n); };
  Footprint f;
  {
    const std::size_t before = mallinfo2().uordblks;
    auto map = MakeOurs<allocators::MallocPolicy>(n);
    for (Key key : w.keys) map.try_emplace(key, ValueFor(key));
    f.ours_malloc_heap = per(static_cast<double>(mallinfo2().uordblks - before));
    f.ours_malloc_policy = per(static_cast<double>(map.allocator().stats().live_bytes));
  }
  {
    auto map = MakeOurs<allocators::SlotRecycler>(n);
    for (Key key : w.keys) map.try_emplace(key, ValueFor(key));
    f.ours_recycler_policy = per(static_cast<double>(map.allocator().stats().live_bytes));
    f.ours_recycler_pool =
        per(static_cast<double>(map.allocator().stats().high_water_slots * allocators::kSlotBytes));
  }
  {
    CountingCtx ctx;
    libhamt::hamt_allocator counting{CountingMalloc, CountingRealloc, CountingFree, &ctx};
    const std::size_t before = mallinfo2().uordblks;
    libhamt::hamt* t = NewLibhamt(&counting);
    for (std::size_t i = 0; i < n; ++i) libhamt::hamt_set(t, &w.keys[i], &w.values[i]);
    f.libhamt_heap = per(static_cast<double>(mallinfo2().uordblks - before));
    f.libhamt_hooks = per(static_cast<double>(ctx.live));
    libhamt::hamt_delete(t);
  }
  return f;
}

// ---- 10M sequential correctness check ----

void Check10M() {
  constexpr std::size_t kN = 10'000'000;
  std::printf("\n== correctness: %zu sequential int64 keys 0..%zu, every value checked ==\n", kN,
              kN - 1);
  Workload w = MakeWorkload(kN, /*shuffled=*/false);
  {
    libhamt::hamt* t = NewLibhamt(&libhamt::hamt_allocator_default);
    for (std::size_t i = 0; i < kN; ++i) libhamt::hamt_set(t, &w.keys[i], &w.values[i]);
    std::size_t missing = 0, wrong = 0, shown = 0;
    for (Key key : w.keys) {
      Key probe = key;
      const void* v = libhamt::hamt_get(t, &probe);
      if (v == nullptr) {
        ++missing;
      } else if (*static_cast<const Value*>(v) != ValueFor(key)) {
        ++wrong;
      } else {
        continue;
      }
      if (shown++ < 10) {
        std::printf("  libhamt: key %lld -> %s", static_cast<long long>(key),
                    v == nullptr ? "NULL (missing)" : "wrong value");
        if (v != nullptr) {
          std::printf(" %lld (expected %lld)", static_cast<long long>(*static_cast<const Value*>(v)),
                      static_cast<long long>(ValueFor(key)));
        }
        std::printf("  [murmur3 gen0 hash 0x%08x]\n", KeyHash(&key, 0));
      }
    }
    // Iteration visits what the trie actually holds.
    std::size_t iterated = 0;
    libhamt::hamt_iterator* it = libhamt::hamt_it_create(t);
    for (; libhamt::hamt_it_valid(it); libhamt::hamt_it_next(it)) ++iterated;
    libhamt::hamt_it_delete(it);
    std::printf("libhamt/set: hamt_size=%zu iterated=%zu missing=%zu wrong_value=%zu\n",
                libhamt::hamt_size(t), iterated, missing, wrong);
    libhamt::hamt_delete(t);
  }
  {
    OurMap<allocators::MallocPolicy> map;
    for (Key key : w.keys) map.try_emplace(key, ValueFor(key));
    std::size_t missing = 0, wrong = 0;
    for (Key key : w.keys) {
      const Value* v = map.find(key);
      if (v == nullptr) ++missing;
      else if (*v != ValueFor(key)) ++wrong;
    }
    std::size_t iterated = 0;
    for (const auto& entry : map) iterated += (void(entry), 1);
    const std::string invariants = map.check_invariants();
    std::printf("ours/malloc: size=%zu iterated=%zu missing=%zu wrong_value=%zu invariants=%s\n",
                map.size(), iterated, missing, wrong, invariants.empty() ? "ok" : invariants.c_str());
  }
}

std::size_t FlagValue(int argc, char** argv, std::string_view name, std::size_t fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=')
      return std::strtoull(argv[i] + name.size() + 1, nullptr, 10);
  }
  return fallback;
}

bool HasFlag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i)
    if (argv[i] == name) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t reps_small = FlagValue(argc, argv, "--reps-small", 41);
  const std::size_t reps_large = FlagValue(argc, argv, "--reps-large", 7);
  const bool check_10m = HasFlag(argc, argv, "--check-10m");
  const bool no_pset = HasFlag(argc, argv, "--no-pset");

  std::printf("hamt::Map vs libhamt: int64 -> int64, median ns/key over repetitions "
              "(contenders alternate within each repetition)\n");
  std::printf("%-9s %-8s %-6s %4s %14s %14s %14s %14s %9s %9s\n", "N", "order", "op", "reps",
              kNames[0], kNames[1], kNames[2], kNames[3], "mal/set", "rec/set");
  std::size_t total_bad[kContenders] = {};
  std::vector<std::pair<std::string, Footprint>> footprints;
  for (std::size_t n : {std::size_t{10'000}, std::size_t{1'000'000}}) {
    for (bool shuffled : {false, true}) {
      Workload w = MakeWorkload(n, shuffled);
      const std::size_t reps = n <= 10'000 ? reps_small : reps_large;
      std::vector<double> ins[kContenders], fnd[kContenders];
      // One untimed warm-up round so first-touch page faults hit nobody in particular.
      for (int c = 0; c < kContenders; ++c)
        if (!(no_pset && c == kLibhamtPset)) total_bad[c] += Run(static_cast<Contender>(c), w).bad;
      for (std::size_t r = 0; r < reps; ++r) {
        for (int k = 0; k < kContenders; ++k) {
          const auto c = static_cast<Contender>((k + r) % kContenders);  // rotate who goes first
          if (no_pset && c == kLibhamtPset) continue;
          const Sample s = Run(c, w);
          ins[c].push_back(s.insert_ns);
          fnd[c].push_back(s.find_ns);
          total_bad[c] += s.bad;
        }
      }
      for (int op = 0; op < 2; ++op) {
        double med[kContenders] = {};
        for (int c = 0; c < kContenders; ++c) {
          const auto& v = op == 0 ? ins[c] : fnd[c];
          med[c] = v.empty() ? 0 : Median(v);
        }
        std::printf("%-9zu %-8s %-6s %4zu %14.1f %14.1f %14.1f %14.1f %9.2f %9.2f\n", n,
                    shuffled ? "shuffled" : "in-order", op == 0 ? "insert" : "find", reps,
                    med[kOursMalloc], med[kOursRecycler], med[kLibhamtSet], med[kLibhamtPset],
                    med[kOursMalloc] / med[kLibhamtSet], med[kOursRecycler] / med[kLibhamtSet]);
      }
      std::fflush(stdout);
      footprints.emplace_back(std::to_string(n) + (shuffled ? " shuffled" : " in-order"),
                              MeasureFootprint(w));
    }
  }

  std::printf("\nbytes per entry after building N keys (untimed builds)\n");
  std::printf("%-18s %12s %12s %12s %12s %12s %12s\n", "N order", "ours/mal", "ours/mal",
              "ours/rec", "ours/rec", "libhamt", "libhamt");
  std::printf("%-18s %12s %12s %12s %12s %12s %12s\n", "", "live_bytes", "heap(mi2)", "live_bytes",
              "pool carved", "hooks", "heap(mi2)");
  for (const auto& [name, f] : footprints) {
    std::printf("%-18s %12.1f %12.1f %12.1f %12.1f %12.1f %12.1f\n", name.c_str(),
                f.ours_malloc_policy, f.ours_malloc_heap, f.ours_recycler_policy,
                f.ours_recycler_pool, f.libhamt_hooks, f.libhamt_heap);
  }
  std::printf("(libhamt stores pointers: the caller's key and value storage, 16 B/entry here, "
              "comes on top of its numbers; ours stores both inline)\n");

  std::printf("\nlookup errors (missing or wrong value) over all runs:");
  for (int c = 0; c < kContenders; ++c) std::printf(" %s=%zu", kNames[c], total_bad[c]);
  std::printf("\n");

  if (check_10m) Check10M();
  return 0;
}
