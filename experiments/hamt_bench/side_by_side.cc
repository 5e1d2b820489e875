// hamt::Map side by side with libhamt (github.com/mkirchner/hamt, plain and with its table cache),
// immer's map (github.com/arximboldi/immer, transient and persistent) and Abseil's flat_hash_map,
// in one process, one table.
//
// Not built by Bazel: libhamt and immer are not vendored. tools/side_by_side.sh compiles them from
// checkouts outside the repository together with this driver, and runs it:
//   tools/side_by_side.sh [--n=10K,100K,1M] [--orders=seq,shuffled] [--contenders=default]
//                         [--reps=R] [--cpu=K] [--out=FILE.csv] [--check-10m]
//
// Workloads: int64 keys 0..N-1, in order ("seq") or shuffled (mt19937_64(12345)); key k maps to
// ValueFor(k). "insert" times building an empty map from all N keys (making and destroying the map
// are outside the timed region); "find" times N successful lookups, in the same key order, on the
// map just built. ns/op is the steady_clock time over N.
//
// Method. Every cell (N, order) first runs every contender once unrecorded (warm-up: page faults,
// caches, the branch predictor), then R repetitions; each repetition runs every contender once, in
// a random order drawn afresh per repetition, so that drift (another job, thermal state, the heap
// growing) and the state one contender leaves in the heap hit every contender alike. Per cell,
// contender and operation the report gives the median over the repetitions, its 95% confidence
// interval (distribution-free, from order statistics and the binomial distribution:
// experiments/common/statistics.h) and the coefficient of variation. R defaults to 31 for N <= 100K
// and 7 above. --cpu pins the process to one core.
//
// Hash: every contender hashes with the splitmix64 finalizer (SplitMix64 below), so the tables
// compare maps rather than their default hashes (absl::Hash, std::hash, murmur3).
//
// Every answer is checked, in every run: the size after each build, and the value of every find.
// A wrong answer is counted, reported with a first bad key, and makes the exit status 1.
// --check-10m adds one run of every contender on keys 0..9,999,999 (libhamt fails it: LibhamtHash).
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "allocators/counted.h"
#include "allocators/malloc_policy.h"
#include "allocators/slot_pool.h"
#include "allocators/slot_recycler.h"
#include "allocators/stats.h"
#include "experiments/common/child_process.h"
#include "experiments/common/console.h"
#include "experiments/common/flags.h"
#include "experiments/common/statistics.h"
#include "experiments/hamt_bench/libhamt_glue.h"
#include "hamt/hamt.h"
#include "hamt/persistent_map.h"
#include "immer/map.hpp"
#include "immer/map_transient.hpp"

ABSL_FLAG(std::string, n, "10K,100K,1M",
          "numbers of keys, comma-separated (K = 1,000, M = 1,000,000)");
ABSL_FLAG(std::string, orders, "seq,shuffled",
          "key orders, comma-separated: seq (0..N-1) and shuffled (a fixed permutation)");
ABSL_FLAG(std::string, contenders, "default",
          "contenders, comma-separated: their ids (an unknown id lists them), default (all but "
          "libhamt-pset) or all");
ABSL_FLAG(int, reps, 0, "timed repetitions per cell; 0: 31 for N <= 100K, 7 above");
ABSL_FLAG(int, cpu, -1, "pin the process to this CPU (sched_setaffinity); -1: no pinning");
ABSL_FLAG(std::string, out, "",
          "also write one CSV row per cell x contender x operation to this file");
ABSL_FLAG(bool, check_10m, false,
          "also build every contender once from keys 0..9,999,999 in order and check every answer");

namespace {

using experiments::FlagError;
using Key = std::int64_t;
using Value = std::int64_t;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "side_by_side";
constexpr const char* kUsage =
    "hamt::Map side by side with libhamt, immer and absl::flat_hash_map: tools/side_by_side.sh "
    "[flags] (flag names may be spelled with - for _, as in --check-10m)";

constexpr std::size_t kCheckKeys = 10'000'000;

// ---- Hash and values: one definition for every contender ----

constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15;

// splitmix64's output function (Steele, Lea & Flood 2014; Vigna's splitmix64.c): a bijection on 64
// bits whose every output bit depends on every input bit.
constexpr std::uint64_t SplitMix64(std::uint64_t x) {
  x += kGoldenGamma;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

struct SplitMix {
  std::size_t operator()(Key key) const noexcept {
    return SplitMix64(static_cast<std::uint64_t>(key));
  }
};

constexpr Value ValueFor(Key key) { return key * 2 + 1; }

// ---- Workload ----

enum class Order { kSeq, kShuffled };

constexpr absl::string_view OrderName(Order order) {
  return order == Order::kSeq ? "seq" : "shuffled";
}

struct Workload {
  std::vector<Key> keys;      // insertion and lookup order
  std::vector<Value> values;  // values[i] = ValueFor(keys[i]); libhamt points into both arrays
};

Workload MakeWorkload(std::size_t n, Order order) {
  Workload w;
  w.keys.resize(n);
  std::iota(w.keys.begin(), w.keys.end(), Key{0});
  if (order == Order::kShuffled) std::shuffle(w.keys.begin(), w.keys.end(), std::mt19937_64(12345));
  w.values.resize(n);
  std::transform(w.keys.begin(), w.keys.end(), w.values.begin(), ValueFor);
  return w;
}

// ---- Contenders ----
//
// A contender is a struct with
//   Map                                                   its map type
//   static Map Make(std::size_t n)                        an empty map that will get n keys
//   static void Insert(Map&, const Workload&, std::size_t i)   keys[i] -> values[i]
//   static const Value* Find(const Map&, Key)             the value stored for the key, or nullptr
//   static std::size_t Size(const Map&)
// and optionally static void Account(const Map&, Footprint&) for memory that malloc does not see.
// Time<C> is instantiated per contender: the timed loops call the map directly, with no virtual
// call or function pointer of the harness in between.

// Bytes a built map holds (an untimed build).
struct Footprint {
  double heap_bytes = 0;  // taken from malloc by the build: mallinfo2's in-use plus mmapped bytes
  double pool_bytes = 0;  // slots carved from a slot pool (mapped by the pool, not by malloc)
  std::optional<double> live_bytes;   // what a counted allocator policy reports live
  std::optional<double> allocations;  // allocator calls of the whole build (counted policies)
};

// Options: hamt::Map's template arguments after the policy, if any.
template <class Policy, class... Options>
struct Ours {
  using Map = hamt::Map<Key, Value, SplitMix, std::equal_to<>, Policy, Options...>;

  static Map Make(std::size_t n) {
    if constexpr (std::is_same_v<Policy, allocators::SlotRecycler>) {
      // 64 slots (512 bytes) per key: one build never exhausts the pool. Address space only
      // (MAP_NORESERVE): pages are committed as the build touches them.
      return Map(Policy(allocators::PoolOptions{
          .capacity_slots = 64 * n, .warn_utilization = 0.8, .quiet = true}));
    } else {
      return Map();
    }
  }
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map.try_emplace(w.keys[i], w.values[i]);
  }
  static const Value* Find(const Map& map, Key key) { return map.find(key); }
  static std::size_t Size(const Map& map) { return map.size(); }
  static void Account(const Map& map, Footprint& f) {
    const allocators::AllocStats& stats = map.allocator().stats();
    f.pool_bytes = static_cast<double>(stats.high_water_slots * allocators::kSlotBytes);
    if constexpr (Policy::kCounted) {
      f.live_bytes = static_cast<double>(stats.live_bytes);
      f.allocations = static_cast<double>(stats.allocations);
    }
  }
};

// The recycler over a pool committed before the timed build (PoolOptions::prefault), as a program
// that keeps its pool across builds, or libhamt's preallocated table cache, would have it: the
// first-touch page faults that a fresh lazily mapped pool pays inside the build are left out.
// 8 slots (64 bytes) per key: ~2.5 times what a build demands, so it never falls back.
struct OursRecyclerPrefaulted : Ours<allocators::SlotRecycler> {
  static Map Make(std::size_t n) {
    return Map(allocators::SlotRecycler(allocators::PoolOptions{
        .capacity_slots = 8 * n, .warn_utilization = 0.8, .quiet = true, .prefault = true}));
  }
};

// hamt::PersistentMap, as immer's persistent contender uses immer::map: map = map.set(k, v)
// path-copies a new version and the assignment drops the old one, which frees the path it
// replaced. (std::move(map).set(k, v) updates in place while map is the only owner: the
// transient contender below.)
template <class Policy>
struct OursPersistent {
  using Map = hamt::PersistentMap<Key, Value, SplitMix, std::equal_to<>, Policy>;

  static Map Make(std::size_t) { return Map(); }
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map = map.set(w.keys[i], w.values[i]);
  }
  static const Value* Find(const Map& map, Key key) { return map.find(key); }
  static std::size_t Size(const Map& map) { return map.size(); }
  static void Account(const Map& map, Footprint& f) {
    const allocators::AllocStats& stats = map.allocator().stats();
    f.live_bytes = static_cast<double>(stats.live_bytes);
    f.allocations = static_cast<double>(stats.allocations);
  }
};

template <class Policy>
struct OursPersistentTransient : OursPersistent<Policy> {
  using typename OursPersistent<Policy>::Map;
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map = std::move(map).set(w.keys[i], w.values[i]);
  }
};

// libhamt, through libhamt_glue.h: one table of the glue's functions per build of libhamt.
struct LibhamtApi {
  lh_map* (*create)(lh_hash_fn, lh_cmp_fn);
  void (*destroy)(lh_map*);
  void (*set)(lh_map*, const void*, const void*);
  void (*pset)(lh_map*, const void*, const void*);
  const void* (*get)(const lh_map*, const void*);
  std::size_t (*size)(const lh_map*);
};
constexpr LibhamtApi kLibhamtPlain{lh_plain_new,  lh_plain_delete, lh_plain_set,
                                   lh_plain_pset, lh_plain_get,    lh_plain_size};
constexpr LibhamtApi kLibhamtCache{lh_cache_new,  lh_cache_delete, lh_cache_set,
                                   lh_cache_pset, lh_cache_get,    lh_cache_size};

// libhamt hashes 32 bits at a time: generation 0 first, and when a key's path has used 30 bits
// (six levels) it asks for generation `gen` (the depth reached) for fresh bits. Generation g is
// the low half of SplitMix64(key + g * kGoldenGamma), the (g+1)-th output of a splitmix64
// generator seeded with the key; generation 0 is thus the low half of everyone else's hash, the
// bits every trie here spends on its first six levels.
// Known libhamt bug (at 100ec3e): when insert_table pushes an existing key down, it rehashes that
// key with generation depth / 5, while lookups use the generation of the depth where they last
// rehashed (6, 12, ...). Keys pushed down below depth 6 can then be lost: --check-10m finds 7 of
// 10M missing with this hash; with `depth / 6 * 6` there it finds none.
std::uint32_t LibhamtHash(const void* key, std::size_t gen) {
  const auto k = static_cast<std::uint64_t>(*static_cast<const Key*>(key));
  return static_cast<std::uint32_t>(SplitMix64(k + gen * kGoldenGamma));
}

int LibhamtCmp(const void* lhs, const void* rhs) {
  const Key a = *static_cast<const Key*>(lhs);
  const Key b = *static_cast<const Key*>(rhs);
  return (a > b) - (a < b);
}

// libhamt as its tests use it: keys and values are pointers into the workload's arrays.
template <const LibhamtApi& kApi>
struct Libhamt {
  struct Destroy {
    void operator()(lh_map* map) const { kApi.destroy(map); }
  };
  using Map = std::unique_ptr<lh_map, Destroy>;

  static Map Make(std::size_t) { return Map(kApi.create(LibhamtHash, LibhamtCmp)); }
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    kApi.set(map.get(), &w.keys[i], &w.values[i]);
  }
  // Looks up the address of a copy of the key, as a caller holding just a key would.
  static const Value* Find(const Map& map, Key key) {
    return static_cast<const Value*>(kApi.get(map.get(), &key));
  }
  static std::size_t Size(const Map& map) { return kApi.size(map.get()); }
};

// libhamt's persistent insert: every hamt_pset returns a new version and leaks the previous one
// (libhamt cannot free a single version), so this contender runs in a forked child (TimeInChild).
template <const LibhamtApi& kApi>
struct LibhamtPersistent : Libhamt<kApi> {
  using typename Libhamt<kApi>::Map;
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    kApi.pset(map.get(), &w.keys[i], &w.values[i]);
  }
};

// immer with its default memory policy: thread-safe reference counts, and a heap that keeps freed
// nodes on free lists (up to 1,024 per node size, per thread and globally) before returning them
// to malloc.
using ImmerMap = immer::map<Key, Value, SplitMix>;

struct ImmerTransient {
  using Map = ImmerMap::transient_type;

  static Map Make(std::size_t) { return ImmerMap().transient(); }
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map.set(w.keys[i], w.values[i]);
  }
  static const Value* Find(const Map& map, Key key) { return map.find(key); }
  static std::size_t Size(const Map& map) { return map.size(); }
};

struct ImmerPersistent {
  using Map = ImmerMap;

  static Map Make(std::size_t) { return Map(); }
  // map = map.set(k, v): each insert path-copies a new version and the assignment drops the old
  // one, the cost of the persistent interface. (std::move(map).set(k, v) would update in place
  // while map is the only owner: that is what the transient contender measures.)
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map = map.set(w.keys[i], w.values[i]);
  }
  static const Value* Find(const Map& map, Key key) { return map.find(key); }
  static std::size_t Size(const Map& map) { return map.size(); }
};

struct AbslFlat {
  using Map = absl::flat_hash_map<Key, Value, SplitMix>;

  static Map Make(std::size_t) { return Map(); }  // no reserve(): it grows, as the tries do
  static void Insert(Map& map, const Workload& w, std::size_t i) {
    map.try_emplace(w.keys[i], w.values[i]);
  }
  static const Value* Find(const Map& map, Key key) {
    const auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
  static std::size_t Size(const Map& map) { return map.size(); }
};

// ---- One run ----

// What one build and its lookups gave. Trivially copyable: a forked child sends it through a pipe.
struct Sample {
  double insert_ns = 0;     // per key
  double find_ns = 0;       // per key
  std::size_t size = 0;     // Size() after the build
  std::size_t missing = 0;  // finds that found nothing
  std::size_t wrong = 0;    // finds that found a wrong value
  Key first_bad_key = 0;    // the first such key in lookup order (when missing + wrong > 0)

  std::size_t Errors(std::size_t n) const { return missing + wrong + (size != n ? 1 : 0); }
};

// Google Benchmark's DoNotOptimize: the compiler must compute `value` here, before the clock.
template <class T>
void DoNotOptimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

double NsPerKey(Clock::time_point begin, Clock::time_point end, std::size_t n) {
  return std::chrono::duration<double, std::nano>(end - begin).count() / static_cast<double>(n);
}

template <class C>
Sample Time(const Workload& w) {
  const std::size_t n = w.keys.size();
  Sample s;
  typename C::Map map = C::Make(n);
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) C::Insert(map, w, i);
  const auto t1 = Clock::now();
  std::size_t bad = 0;  // checked inside the timed loop, so that no find can be elided
  for (std::size_t i = 0; i < n; ++i) {
    const Value* v = C::Find(map, w.keys[i]);
    bad += v == nullptr || *v != w.values[i];
  }
  DoNotOptimize(bad);
  const auto t2 = Clock::now();
  s.insert_ns = NsPerKey(t0, t1, n);
  s.find_ns = NsPerKey(t1, t2, n);
  s.size = C::Size(map);
  if (bad > 0) {  // rare: tell missing from wrong, untimed
    for (std::size_t i = n; i-- > 0;) {
      const Value* v = C::Find(map, w.keys[i]);
      if (v != nullptr && *v == w.values[i]) continue;
      ++(v == nullptr ? s.missing : s.wrong);
      s.first_bad_key = w.keys[i];
    }
  }
  return s;  // the map is destroyed here, outside the timed regions
}

// Time<C> in a forked child that exits afterwards, for contenders that leak (libhamt pset).
template <class C>
Sample TimeInChild(const Workload& w) {
  experiments::ChildExit child;
  try {
    child = experiments::RunInChild([&w](int) {
      const Sample s = Time<C>(w);
      return std::string(reinterpret_cast<const char*>(&s), sizeof s);
    });
  } catch (const std::runtime_error& error) {
    experiments::Fail(error.what(), 1);
  }
  if (child.status != 0 || child.message.size() != sizeof(Sample)) {
    experiments::Fail(absl::StrCat("a forked run (libhamt pset) failed (",
                                   experiments::DescribeStatus(child.status), ")"),
                      1);
  }
  Sample s;
  std::memcpy(&s, child.message.data(), sizeof s);
  return s;
}

std::size_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

template <class C>
Footprint MeasureFootprint(const Workload& w) {
  const auto build = [&w] {
    typename C::Map map = C::Make(w.keys.size());
    for (std::size_t i = 0; i < w.keys.size(); ++i) C::Insert(map, w, i);
    return map;
  };
  // A build destroyed unmeasured first: the blocks glibc caches per size after frees (its tcache,
  // which mallinfo2 counts as in use) are then there before the measured build as after it.
  build();
  Footprint f;
  const std::size_t before = HeapBytes();
  const typename C::Map map = build();
  f.heap_bytes = static_cast<double>(HeapBytes()) - static_cast<double>(before);
  if constexpr (requires { C::Account(map, f); }) C::Account(map, f);
  return f;
}

// ---- The contender table ----

struct Contender {
  absl::string_view id;     // --contenders, the CSV
  absl::string_view title;  // the tables
  Sample (*time)(const Workload&);
  Footprint (*footprint)(const Workload&);  // nullptr: not measured
  absl::string_view bytes_note;             // what its bytes per entry leave out, if anything
  // Keeps every version it makes (libhamt pset): runs in a forked child, only when named in
  // --contenders (or `all`), has no footprint and stays out of --check-10m, whose 10M versions
  // would not fit in memory.
  bool leaks = false;
};

template <class C>
constexpr Contender Entry(absl::string_view id, absl::string_view title,
                          absl::string_view bytes_note = "") {
  return {id, title, &Time<C>, &MeasureFootprint<C>, bytes_note};
}

template <class C>
constexpr Contender LeakingEntry(absl::string_view id, absl::string_view title) {
  return {id, title, &TimeInChild<C>, nullptr, "", true};
}

constexpr absl::string_view kLibhamtBytesNote =
    "libhamt stores pointers: the caller's key and value storage (16 bytes per entry here) comes "
    "on top";
constexpr absl::string_view kLibhamtCacheBytesNote =
    "libhamt + cache: includes its table cache, preallocated at libhamt's default bucket sizes "
    "(~89 MB whatever N), as a program using the cache pays it; the caller's key and value "
    "storage (16 bytes per entry) comes on top";
constexpr absl::string_view kImmerBytesNote =
    "immer's free lists may hold blocks from the build before, which then go uncounted";

// Every contender, in table order: adding one is one line here (and its struct above).
constexpr Contender kContenders[] = {
    Entry<Ours<allocators::MallocPolicy>>("ours", "hamt::Map (malloc)"),
    Entry<Ours<allocators::Uncounted<allocators::MallocBackend>>>("ours-uncounted",
                                                                  "hamt::Map (uncounted)"),
    Entry<Ours<allocators::SlotRecycler>>("ours-recycler", "hamt::Map (recycler)"),
    Entry<OursRecyclerPrefaulted>("ours-recycler-prefault", "hamt::Map (recycler, prefaulted)"),
    // Node sizing is a variable too (hamt/node_sizing.h): nodes rounded up to powers of two, or
    // to 4 classes per doubling, grow in place until their class is full.
    Entry<Ours<allocators::MallocPolicy, hamt::RoundedNodes<1>>>("ours-pow2",
                                                                 "hamt::Map (malloc, pow2 nodes)"),
    Entry<Ours<allocators::MallocPolicy, hamt::RoundedNodes<4>>>(
        "ours-4class", "hamt::Map (malloc, 4 classes/doubling)"),
    // hamt::PersistentMap beside immer's persistent and transient maps.
    Entry<OursPersistent<allocators::MallocPolicy>>("ours-persistent",
                                                    "hamt::PersistentMap (malloc)"),
    Entry<OursPersistentTransient<allocators::MallocPolicy>>(
        "ours-persistent-transient", "hamt::PersistentMap (malloc, transient)"),
    Entry<Libhamt<kLibhamtPlain>>("libhamt", "libhamt", kLibhamtBytesNote),
    Entry<Libhamt<kLibhamtCache>>("libhamt+cache", "libhamt + cache", kLibhamtCacheBytesNote),
    LeakingEntry<LibhamtPersistent<kLibhamtPlain>>("libhamt-pset", "libhamt pset"),
    Entry<ImmerTransient>("immer-transient", "immer transient", kImmerBytesNote),
    Entry<ImmerPersistent>("immer-persistent", "immer persistent", kImmerBytesNote),
    Entry<AbslFlat>("absl-flat", "absl flat"),
};

// ---- Flags ----

struct Config {
  std::vector<std::size_t> ns;
  std::vector<Order> orders;
  std::vector<const Contender*> contenders;  // in table order
  int reps = 0;                              // 0: by N
  int cpu = -1;
  std::string out;
  bool check_10m = false;
};

std::vector<Order> ParseOrders(const std::string& text) {
  static constexpr Order kOrders[] = {Order::kSeq, Order::kShuffled};
  return experiments::ParseNameList("orders", text, std::span<const Order>(kOrders), OrderName,
                                    "order");
}

std::vector<const Contender*> ParseContenders(const std::string& text) {
  std::vector<bool> chosen(std::size(kContenders), false);
  bool any = false;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    bool known = false;
    for (std::size_t c = 0; c < std::size(kContenders); ++c) {
      const bool match = item == "all" || (item == "default" && !kContenders[c].leaks) ||
                         item == kContenders[c].id;
      if (match) chosen[c] = known = any = true;
    }
    if (!known) {
      std::vector<absl::string_view> ids;
      for (const Contender& c : kContenders) ids.push_back(c.id);
      FlagError("contenders",
                absl::StrCat("unknown contender ", experiments::QuoteValue(item),
                             " (known: default, all, ", absl::StrJoin(ids, ", "), ")"));
    }
  }
  if (!any) FlagError("contenders", "no contender given");
  std::vector<const Contender*> contenders;
  for (std::size_t c = 0; c < std::size(kContenders); ++c) {
    if (chosen[c]) contenders.push_back(&kContenders[c]);
  }
  return contenders;
}

Config ConfigFromFlags() {
  Config config;
  for (std::uint64_t n : experiments::ParseCountList("n", absl::GetFlag(FLAGS_n), 1, 100'000'000)) {
    config.ns.push_back(static_cast<std::size_t>(n));
  }
  config.orders = ParseOrders(absl::GetFlag(FLAGS_orders));
  config.contenders = ParseContenders(absl::GetFlag(FLAGS_contenders));
  config.reps = absl::GetFlag(FLAGS_reps);
  if (config.reps < 0) FlagError("reps", absl::StrCat(config.reps, " is negative (0: by N)"));
  config.cpu = absl::GetFlag(FLAGS_cpu);
  if (config.cpu < -1) FlagError("cpu", absl::StrCat(config.cpu, " is not a CPU (-1: no pinning)"));
  config.out = absl::GetFlag(FLAGS_out);
  config.check_10m = absl::GetFlag(FLAGS_check_10m);
  return config;
}

// Abseil flag names are identifiers; accept - for _ in them (--check-10m, the old script's name).
void NormalizeFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) continue;
    for (char* p = argv[i] + 2; *p != '\0' && *p != '='; ++p) {
      if (*p == '-') *p = '_';
    }
  }
}

// ---- Measuring ----

struct Summary {
  double median = 0;
  std::optional<experiments::Interval> ci;  // none below 6 repetitions
  double cv = 0;
};

Summary Summarize(const std::vector<double>& values) {
  return {experiments::Median(values), experiments::MedianConfidenceInterval(values),
          experiments::CoefficientOfVariation(values)};
}

enum Op { kInsert, kFind, kOps };
constexpr absl::string_view kOpNames[kOps] = {"insert", "find"};

struct Cell {
  std::size_t n = 0;
  Order order = Order::kSeq;
  int reps = 0;
  std::vector<Summary> summary[kOps];  // per contender of the Config
  // times[op][c][r]: contender c's ns/op in round r. The rounds line up across contenders: every
  // round runs each contender once, within moments of the others.
  std::vector<std::vector<double>> times[kOps];
};

// Runs of one contender in one cell that gave wrong answers: the first such run, and how many.
struct Failure {
  const Contender* contender;
  std::string where;
  Sample first;
  int runs = 0;
};

struct Results {
  std::vector<Cell> cells;
  // footprints[i][c]: contender c's build of config.ns[i] keys; none where not measured.
  std::vector<std::vector<std::optional<Footprint>>> footprints;
  std::vector<Failure> failures;

  // Runs `contender` on `w` and records its wrong answers, if any.
  Sample Run(const Contender& contender, const Workload& w, absl::string_view where) {
    const Sample s = contender.time(w);
    if (s.Errors(w.keys.size()) == 0) return s;
    auto it = std::find_if(failures.begin(), failures.end(), [&](const Failure& f) {
      return f.contender == &contender && f.where == where;
    });
    if (it == failures.end()) it = failures.insert(it, {&contender, std::string(where), s});
    ++it->runs;
    return s;
  }
};

// 10000 -> "10K", 1000000 -> "1M"; other numbers in full.
std::string FormatN(std::size_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return absl::StrCat(n / 1'000'000, "M");
  if (n >= 1'000 && n % 1'000 == 0) return absl::StrCat(n / 1'000, "K");
  return absl::StrCat(n);
}

int RepsFor(const Config& config, std::size_t n) {
  if (config.reps > 0) return config.reps;
  return n <= 100'000 ? 31 : 7;
}

void MeasureFootprints(const Config& config, Results& results) {
  for (std::size_t n : config.ns) {
    std::fprintf(stderr, "%s: bytes per entry, N=%s\n", kProgram, FormatN(n).c_str());
    const Workload w = MakeWorkload(n, Order::kSeq);
    auto& row = results.footprints.emplace_back();
    for (const Contender* c : config.contenders) {
      row.push_back(c->footprint == nullptr ? std::nullopt
                                            : std::optional<Footprint>(c->footprint(w)));
    }
  }
}

// One cell: a warm-up round, then `reps` rounds of every contender, each round in a random order.
Cell MeasureCell(const Config& config, std::size_t n, Order order, Results& results) {
  const std::size_t m = config.contenders.size();
  Cell cell;
  cell.n = n;
  cell.order = order;
  cell.reps = RepsFor(config, n);
  const Workload w = MakeWorkload(n, order);
  const std::string where = absl::StrCat("N=", FormatN(n), " ", OrderName(order));
  for (const Contender* c : config.contenders) results.Run(*c, w, where);  // warm-up, unrecorded
  std::vector<std::vector<double>> times[kOps];
  for (auto& t : times) t.resize(m);
  // A fresh random order every repetition, seeded by the cell and the repetition (so a rerun
  // runs the same orders): a rotation would always run each contender right after the same
  // neighbour, whose heap state (bins, trimmed pages, free lists) it would then always inherit.
  std::vector<std::size_t> run_order(m);
  std::iota(run_order.begin(), run_order.end(), std::size_t{0});
  for (int r = 0; r < cell.reps; ++r) {
    std::mt19937_64 rng(n * 1000003 + static_cast<std::size_t>(order) * 1009 +
                        static_cast<std::size_t>(r));
    std::shuffle(run_order.begin(), run_order.end(), rng);
    for (const std::size_t c : run_order) {
      const Sample s = results.Run(*config.contenders[c], w, where);
      times[kInsert][c].push_back(s.insert_ns);
      times[kFind][c].push_back(s.find_ns);
    }
  }
  for (int op = 0; op < kOps; ++op) {
    for (const auto& t : times[op]) cell.summary[op].push_back(Summarize(t));
    cell.times[op] = std::move(times[op]);
  }
  return cell;
}

void WriteCsvRows(std::FILE* csv, const Config& config, const Cell& cell) {
  for (std::size_t c = 0; c < config.contenders.size(); ++c) {
    for (int op = 0; op < kOps; ++op) {
      const Summary& s = cell.summary[op][c];
      std::fprintf(csv, "%zu,%s,%s,%s,%d,%.3f,%s,%s,%.5f\n", cell.n,
                   std::string(OrderName(cell.order)).c_str(),
                   std::string(config.contenders[c]->id).c_str(), std::string(kOpNames[op]).c_str(),
                   cell.reps, s.median, s.ci ? absl::StrFormat("%.3f", s.ci->low).c_str() : "",
                   s.ci ? absl::StrFormat("%.3f", s.ci->high).c_str() : "", s.cv);
    }
  }
  std::fflush(csv);
}

// ---- Printing ----

// A Markdown table, columns padded to their widest cell; the first `left` columns are text, the
// others numbers (right-aligned).
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, std::size_t left) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = std::max<std::size_t>(header[c].size(), 3);
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    std::string line = "|";
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      absl::StrAppend(&line, " ", c < left ? row[c] + pad : pad + row[c], " |");
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  std::string rule = "|";
  for (std::size_t c = 0; c < header.size(); ++c) {
    absl::StrAppend(
        &rule, c < left ? std::string(width[c] + 2, '-') : std::string(width[c] + 1, '-') + ":",
        "|");
  }
  std::printf("%s\n", rule.c_str());
  for (const auto& row : rows) print_row(row);
}

std::vector<std::string> Header(const Config& config, std::vector<std::string> first) {
  for (const Contender* c : config.contenders) first.emplace_back(c->title);
  return first;
}

std::optional<std::size_t> IndexOf(const Config& config, absl::string_view id) {
  for (std::size_t c = 0; c < config.contenders.size(); ++c) {
    if (config.contenders[c]->id == id) return c;
  }
  return std::nullopt;
}

// The speedups the work aims at, per cell: the fastest of `others`' median over `ours`' (> 1:
// ours is faster), naming that fastest when several compete; n/a when they did not run.
std::string Speedup(const Config& config, const Cell& cell, Op op, absl::string_view ours,
                    const std::vector<absl::string_view>& others) {
  const auto o = IndexOf(config, ours);
  std::optional<std::size_t> best;
  for (absl::string_view id : others) {
    const auto c = IndexOf(config, id);
    if (c && (!best || cell.summary[op][*c].median < cell.summary[op][*best].median)) best = c;
  }
  if (!o || !best) return "n/a";
  // Paired: the ratio within each round, where both ran on the same machine state moments apart,
  // so the machine's drift cancels; then the median of those ratios and its 95% interval.
  std::vector<double> ratios;
  const auto& ours_times = cell.times[op][*o];
  const auto& best_times = cell.times[op][*best];
  for (std::size_t r = 0; r < ours_times.size() && r < best_times.size(); ++r) {
    ratios.push_back(best_times[r] / ours_times[r]);
  }
  const Summary paired = Summarize(ratios);
  std::string text = absl::StrFormat("%.2fx", paired.median);
  if (paired.ci) absl::StrAppendFormat(&text, " [%.2f-%.2f]", paired.ci->low, paired.ci->high);
  if (others.size() > 1) absl::StrAppend(&text, " (", config.contenders[*best]->title, ")");
  return text;
}

void PrintResults(const Config& config, const Results& results) {
  const auto cell_rows = [&](auto format) {
    std::vector<std::vector<std::string>> rows;
    for (const Cell& cell : results.cells) {
      std::vector<std::string> row = {FormatN(cell.n), std::string(OrderName(cell.order))};
      for (std::size_t c = 0; c < config.contenders.size(); ++c) {
        row.push_back(
            absl::StrCat(format(cell.summary[kInsert][c]), " / ", format(cell.summary[kFind][c])));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  };
  const std::vector<std::string> header = Header(config, {"N", "order"});

  std::printf("\nns per operation, insert / find: median over the repetitions\n\n");
  PrintTable(header, cell_rows([](const Summary& s) { return absl::StrFormat("%.1f", s.median); }),
             2);
  std::printf("\nCoefficient of variation (stddev / mean), insert / find\n\n");
  PrintTable(header,
             cell_rows([](const Summary& s) { return absl::StrFormat("%.1f%%", 100 * s.cv); }), 2);
  std::printf(
      "\n95%% confidence interval of the median, ns (order statistics, binomial; n/a below "
      "6 repetitions), insert / find\n\n");
  PrintTable(header, cell_rows([](const Summary& s) {
               return s.ci ? absl::StrFormat("%.1f-%.1f", s.ci->low, s.ci->high)
                           : std::string("n/a");
             }),
             2);

  std::printf(
      "\nBytes per entry after one untimed build of N keys in order: taken from malloc "
      "(mallinfo2: in use + mmapped) plus slot-pool bytes carved\n\n");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < config.ns.size(); ++i) {
    const double n = static_cast<double>(config.ns[i]);
    std::vector<std::string> row = {FormatN(config.ns[i])};
    for (const auto& f : results.footprints[i]) {
      row.push_back(f ? absl::StrFormat("%.1f", (f->heap_bytes + f->pool_bytes) / n) : "n/a");
    }
    rows.push_back(std::move(row));
  }
  PrintTable(Header(config, {"N"}), rows, 1);
  std::vector<absl::string_view> notes;  // each once, in table order
  for (const Contender* c : config.contenders) {
    if (!c->bytes_note.empty() &&
        std::find(notes.begin(), notes.end(), c->bytes_note) == notes.end()) {
      notes.push_back(c->bytes_note);
    }
  }
  for (absl::string_view note : notes) std::printf("- %s\n", std::string(note).c_str());

  std::printf(
      "\nTargets: speedup = the other's time / hamt::Map's within each round (> 1: hamt::Map is "
      "faster), median over the rounds [its 95%% interval]; the other is the one with the lowest "
      "median\n\n");
  rows.clear();
  for (const Cell& cell : results.cells) {
    rows.push_back({FormatN(cell.n), std::string(OrderName(cell.order)),
                    Speedup(config, cell, kInsert, "ours", {"libhamt", "libhamt+cache"}),
                    Speedup(config, cell, kInsert, "ours", {"immer-transient"}),
                    Speedup(config, cell, kFind, "ours", {"libhamt", "immer-transient"}),
                    Speedup(config, cell, kInsert, "ours-recycler", {"libhamt+cache"}),
                    Speedup(config, cell, kInsert, "ours-recycler-prefault", {"libhamt+cache"}),
                    Speedup(config, cell, kInsert, "ours-pow2", {"libhamt", "libhamt+cache"}),
                    Speedup(config, cell, kInsert, "ours-persistent", {"immer-persistent"}),
                    // The other way round: PersistentMap's time over hamt::Map's in-place insert.
                    Speedup(config, cell, kInsert, "ours", {"ours-persistent"})});
  }
  PrintTable(
      {"N", "order", "malloc insert vs best libhamt", "malloc insert vs immer transient",
       "malloc find vs faster of libhamt, immer transient", "recycler insert vs libhamt + cache",
       "prefaulted recycler insert vs libhamt + cache",
       "pow2-nodes insert vs best libhamt", "PersistentMap set vs immer persistent",
       "PersistentMap set / hamt::Map insert (time ratio)"},
      rows, 2);
  // What a node sizing trades, per hamt::Map variant: live bytes per entry (policy live_bytes /
  // N) and allocator calls per insert (allocations of the build / N).
  std::printf("\nhamt::Map's own telemetry (untimed build): live bytes per entry, allocations per "
              "insert\n");
  for (std::size_t index = 0; index < config.contenders.size(); ++index) {
    const Contender* c = config.contenders[index];
    if (!absl::StartsWith(c->id, "ours")) continue;
    std::string line = absl::StrCat("- ", c->title, ":");
    for (std::size_t i = 0; i < config.ns.size(); ++i) {
      const double n = static_cast<double>(config.ns[i]);
      const auto& f = results.footprints[i][index];
      if (!f || !f->live_bytes) continue;
      absl::StrAppend(&line, i == 0 ? " " : ", ", FormatN(config.ns[i]), " ",
                      absl::StrFormat("%.1f B, %.2f", *f->live_bytes / n, *f->allocations / n));
    }
    if (line.back() != ':') std::printf("%s\n", line.c_str());  // uncounted: nothing to show
  }
}

// --check-10m: one run of every contender (but leaking ones) on keys 0..9,999,999 in order.
void Check10M(const Config& config, Results& results) {
  const Workload w = MakeWorkload(kCheckKeys, Order::kSeq);
  const std::string where = absl::StrCat("N=", FormatN(kCheckKeys), " seq (--check-10m)");
  std::vector<std::vector<std::string>> rows;
  for (const Contender* c : config.contenders) {
    if (c->leaks) {
      rows.push_back({std::string(c->title), "skipped: keeps every version", "", "", "", ""});
      continue;
    }
    const auto start = Clock::now();
    std::fprintf(stderr, "%s: --check-10m: %s ... ", kProgram, std::string(c->title).c_str());
    const Sample s = results.Run(*c, w, where);
    std::fprintf(stderr, "%.1f s\n", std::chrono::duration<double>(Clock::now() - start).count());
    rows.push_back({std::string(c->title), experiments::FormatCount(static_cast<double>(s.size)),
                    absl::StrCat(s.missing), absl::StrCat(s.wrong),
                    absl::StrFormat("%.1f", s.insert_ns), absl::StrFormat("%.1f", s.find_ns)});
  }
  std::printf("\n--check-10m: keys 0..%zu in order, one build each, every value checked\n\n",
              kCheckKeys - 1);
  PrintTable({"contender", "size", "missing", "wrong value", "insert ns/op (one run)",
              "find ns/op (one run)"},
             rows, 1);
}

void PrintFailures(const Results& results) {
  if (results.failures.empty()) {
    std::printf("\nWrong answers: none.\n");
    return;
  }
  std::printf("\nWrong answers:\n");
  for (const Failure& f : results.failures) {
    const Sample& s = f.first;
    std::printf(
        "  %s, %s: %d run(s) wrong; the first: size %zu, %zu missing, %zu wrong values, "
        "first bad key %lld (SplitMix64 0x%016llx)\n",
        std::string(f.contender->title).c_str(), f.where.c_str(), f.runs, s.size, s.missing,
        s.wrong, static_cast<long long>(s.first_bad_key),
        static_cast<unsigned long long>(SplitMix64(static_cast<std::uint64_t>(s.first_bad_key))));
  }
}

int Main(int argc, char** argv) {
  NormalizeFlagNames(argc, argv);
  experiments::ParseFlagsOrExit(argc, argv, kUsage, kProgram);
  const Config config = ConfigFromFlags();
  if (config.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (config.cpu >= CPU_SETSIZE) FlagError("cpu", absl::StrCat(config.cpu, " is not a CPU"));
    CPU_SET(config.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      FlagError("cpu",
                absl::StrCat("cannot pin to CPU ", config.cpu, ": ", std::strerror(errno),
                             " (this machine has ", sysconf(_SC_NPROCESSORS_ONLN), " online)"));
    }
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> csv(nullptr, &std::fclose);
  if (!config.out.empty()) {
    csv.reset(std::fopen(config.out.c_str(), "w"));
    if (csv == nullptr) {
      FlagError("out", absl::StrCat("cannot write ", config.out, ": ", std::strerror(errno)));
    }
    std::fprintf(csv.get(), "n,order,contender,op,reps,median_ns,ci_low_ns,ci_high_ns,cv\n");
  }

  std::printf("hamt::Map side by side: int64 -> int64, every contender hashing with splitmix64\n");
  std::printf("CPU: %s\n", config.cpu >= 0 ? absl::StrCat("pinned to CPU ", config.cpu).c_str()
                                           : "not pinned (--cpu=K pins the process to CPU K)");
  std::printf(
      "Repetitions per cell: %s, each running every contender once in a random order, "
      "after one unrecorded warm-up round\n",
      config.reps > 0 ? absl::StrCat(config.reps).c_str() : "31 for N <= 100K, 7 above");
  std::fflush(stdout);

  Results results;
  MeasureFootprints(config, results);
  const std::size_t total = config.ns.size() * config.orders.size();
  for (std::size_t n : config.ns) {
    for (Order order : config.orders) {
      const auto start = Clock::now();
      std::fprintf(stderr, "%s: [%zu/%zu] N=%s %s: warm-up + %d reps x %zu contenders ... ",
                   kProgram, results.cells.size() + 1, total, FormatN(n).c_str(),
                   std::string(OrderName(order)).c_str(), RepsFor(config, n),
                   config.contenders.size());
      results.cells.push_back(MeasureCell(config, n, order, results));
      std::fprintf(stderr, "%.1f s\n", std::chrono::duration<double>(Clock::now() - start).count());
      if (csv != nullptr) WriteCsvRows(csv.get(), config, results.cells.back());
    }
  }
  PrintResults(config, results);
  if (config.check_10m) Check10M(config, results);
  PrintFailures(results);
  if (csv != nullptr && (std::ferror(csv.get()) || std::fclose(csv.release()) != 0)) {
    experiments::Fail(absl::StrCat("--out: writing ", config.out, " failed"), 1);
  }
  return results.failures.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
