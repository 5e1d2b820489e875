// allocators/registry.h: the one list of allocator policies. Every test, benchmark, fuzzer and
// experiment that runs "every policy" takes them from here, so a new backend is one small file
// (backend.h says what it is) plus one line in Registry below.
//
// A line gives a policy's canonical name (snake_case; the name results files carry), its backend
// type, its threading, its family and whether it owns a pool; the line knows how to make its
// backend from PolicyOptions. Pool lines name only their primary (the pool); the secondary they
// fall back to is chosen when the policy is made: malloc by default, at compile time any backend
// (BumpPoolWith<B>, bump_pool.h), by name any line that serves any thread.
//
// Use:
//
//   // A policy by name, with a fallback by name; fn is called with a fresh policy (a prvalue) and
//   // WithPolicy returns what fn returns (the same type for every policy):
//   allocators::PolicyOptions options;
//   options.pool = {.capacity_slots = 65536, .quiet = true};
//   options.fallback = "mimalloc";  // FallbackNames(): malloc (the default: the process's malloc,
//                                   // glibc in a plain binary), mimalloc, jemalloc, tcmalloc, ...
//   double pct = allocators::WithPolicy("bump_pool", options, [&](auto policy) {
//     hamt::Map<K, V, H, E, decltype(policy)> map(std::move(policy));
//     ...
//     return allocators::FallbackPct(map.allocator().stats());
//   });
//   // fn is instantiated for every policy, and for every pool with every fallback (the names are
//   // only known at run time; about 20 instantiations): code for one kind goes under
//   // `if constexpr (requires { ... })`. Lines that own no pool ignore options.fallback.
//   // Uncounted: WithPolicy<allocators::Telemetry::kOff>(...): same allocations, no telemetry.
//   // Throws std::invalid_argument naming the known names for an unknown policy or fallback, and
//   // whatever making the policy throws (LibraryLoadError, PoolReserveError).
//
//   // Every line at compile time (registering benchmarks, building test cases):
//   allocators::ForEachLine([&]<class Line>(std::type_identity<Line>) {
//     Line::name; Line::owns_pool; ...
//     allocators::PolicyOf<Line> policy = allocators::MakePolicy<Line>(options);
//   });
//
//   // gtest typed tests over every line: TYPED_TEST_SUITE(S, allocators::Registry::apply<
//   //     ::testing::Types>, allocators::LineName);
//
//   // At run time, without types: allocators::kPolicies (PolicyInfo per line), PolicyNames(),
//   // FallbackNames().
//
// Threading (of the backend; a counted policy is always one thread at a time, since its counters
// are plain integers): kAnyThread (a handle on a process-wide allocator; only these can be a
// fallback by name), kOneThreadAtATime, kCreatingThread (allocate only on the thread that made it).
// Processes that may load jemalloc must call ReexecWithStaticTlsIfNeeded() first
// (private_library.h); PolicyInfo::needs_static_tls says which lines need it.
#ifndef HAMT_ALLOC_ALLOCATORS_REGISTRY_H_
#define HAMT_ALLOC_ALLOCATORS_REGISTRY_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "allocators/aligned_alloc_policy.h"
#include "allocators/backend.h"
#include "allocators/bump_arena.h"
#include "allocators/counted.h"
#include "allocators/fallback.h"
#include "allocators/free_lists.h"
#include "allocators/growing_arena.h"
#include "allocators/jemalloc_arena_policy.h"
#include "allocators/jemalloc_policy.h"
#include "allocators/malloc_policy.h"
#include "allocators/mimalloc_heap_policy.h"
#include "allocators/mimalloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/slot_pool.h"
#include "allocators/tcmalloc_policy.h"

namespace allocators {

enum class Threading { kAnyThread, kOneThreadAtATime, kCreatingThread };
// kProcessMalloc: the C library's interface to whatever serves malloc; kLibrary: an allocator
// library's own API, loaded privately; kPmr: a std::pmr resource; kPool: a slot pool of ours.
enum class Family { kProcessMalloc, kLibrary, kPmr, kPool };

constexpr std::string_view ThreadingName(Threading threading) {
  switch (threading) {
    case Threading::kAnyThread: return "any_thread";
    case Threading::kOneThreadAtATime: return "one_thread_at_a_time";
    case Threading::kCreatingThread: return "creating_thread";
  }
  return "?";
}
constexpr std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kProcessMalloc: return "malloc";
    case Family::kLibrary: return "library";
    case Family::kPmr: return "pmr";
    case Family::kPool: return "pool";
  }
  return "?";
}

// What serves a pool's fallbacks unless told otherwise: the process's malloc, as in the study.
inline constexpr std::string_view kDefaultFallback = "malloc";

struct PolicyOptions {
  PoolOptions pool;                 // for lines that own a pool
  std::string fallback{kDefaultFallback};  // a pool's fallback, by line name (FallbackNames())
};

// A string literal as a template argument.
template <std::size_t N>
struct FixedString {
  constexpr FixedString(const char (&text)[N]) { std::copy_n(text, N, chars); }
  constexpr std::string_view view() const { return {chars, N - 1}; }
  char chars[N];
};

// A backend made without arguments.
template <FixedString kName, Backend B, Threading kThreading, Family kFamily>
struct BackendLine {
  static constexpr std::string_view name = kName.view();
  using backend_type = B;
  static constexpr Threading threading = kThreading;
  static constexpr Family family = kFamily;
  static constexpr bool owns_pool = false;
  static constexpr bool fallback_capable = kThreading == Threading::kAnyThread;
  static constexpr bool needs_static_tls = NeedsStaticTls<B>();

  static B MakeBackend(const PolicyOptions&) { return B(); }
};

// A pool: Primary made from PolicyOptions::pool, falling back to Secondary.
template <FixedString kName, class Primary>
struct PoolLine {
  static constexpr std::string_view name = kName.view();
  template <class Secondary>
  using backend_with = Fallback<Primary, Secondary>;
  using backend_type = Fallback<Primary, MallocBackend>;
  static constexpr Threading threading = Threading::kOneThreadAtATime;
  static constexpr Family family = Family::kPool;
  static constexpr bool owns_pool = true;
  static constexpr bool fallback_capable = false;
  static constexpr bool needs_static_tls = NeedsStaticTls<Primary>();

  template <class Secondary = MallocBackend>
  static Fallback<Primary, Secondary> MakeBackend(const PolicyOptions& options,
                                                  Secondary secondary = Secondary()) {
    return Fallback<Primary, Secondary>(Primary(options.pool), std::move(secondary));
  }
};

template <class First, class... Lines>
struct PolicyList {
  template <template <class...> class T>
  using apply = T<First, Lines...>;
  using first = First;
  static constexpr std::size_t size = 1 + sizeof...(Lines);
};

// ---- The registry: one line per policy. ----
using Registry = PolicyList<
    BackendLine<"malloc", MallocBackend, Threading::kAnyThread, Family::kProcessMalloc>,
    BackendLine<"mimalloc", MimallocBackend, Threading::kAnyThread, Family::kLibrary>,
    BackendLine<"mimalloc_heap", MimallocHeapBackend, Threading::kCreatingThread,
                Family::kLibrary>,
    BackendLine<"jemalloc", JemallocBackend, Threading::kAnyThread, Family::kLibrary>,
    BackendLine<"jemalloc_arena", JemallocArenaBackend, Threading::kOneThreadAtATime,
                Family::kLibrary>,
    BackendLine<"tcmalloc", TcmallocBackend, Threading::kAnyThread, Family::kLibrary>,
    BackendLine<"pmr_monotonic", PmrMonotonicBackend, Threading::kOneThreadAtATime,
                Family::kPmr>,
    BackendLine<"pmr_pool", PmrPoolBackend, Threading::kOneThreadAtATime, Family::kPmr>,
    PoolLine<"bump_pool", BumpArena>,
    PoolLine<"slot_recycler", FreeLists<BumpArena>>,
    PoolLine<"growing_pool", GrowingArena>,
    PoolLine<"growing_recycler", FreeLists<GrowingArena>>,
    BackendLine<"aligned_alloc", AlignedAllocBackend, Threading::kAnyThread,
                Family::kProcessMalloc>>;

// The policy of a line (a pool line: with its default fallback, malloc).
template <class Line, Telemetry kTelemetry = Telemetry::kOn>
using PolicyOf = BasicPolicy<typename Line::backend_type, kTelemetry>;

// A line's policy made from `options`. A pool line's fallback is malloc: options.fallback must be
// "malloc" (WithPolicy honours any other; std::invalid_argument here).
template <class Line, Telemetry kTelemetry = Telemetry::kOn>
PolicyOf<Line, kTelemetry> MakePolicy(const PolicyOptions& options = {}) {
  if constexpr (Line::owns_pool) {
    if (options.fallback != "malloc") {
      throw std::invalid_argument("MakePolicy<" + std::string(Line::name) +
                                  "> falls back to malloc; use WithPolicy for fallback '" +
                                  options.fallback + "'");
    }
  }
  return PolicyOf<Line, kTelemetry>(Line::MakeBackend(options));
}

// Calls fn(std::type_identity<Line>{}) for every line, in registry order.
template <class Fn>
void ForEachLine(Fn&& fn) {
  [&]<class... Lines>(PolicyList<Lines...>) {
    (fn(std::type_identity<Lines>{}), ...);
  }(Registry{});
}

// One line at run time.
struct PolicyInfo {
  std::string_view name;
  Threading threading;
  Family family;
  bool owns_pool;
  bool fallback_capable;
  bool needs_static_tls;
};

inline constexpr auto kPolicies = []<class... Lines>(PolicyList<Lines...>) {
  return std::array<PolicyInfo, sizeof...(Lines)>{
      PolicyInfo{Lines::name, Lines::threading, Lines::family, Lines::owns_pool,
                 Lines::fallback_capable, Lines::needs_static_tls}...};
}(Registry{});

// Canonical names, in registry order: every policy, and those a pool can fall back to by name.
std::vector<std::string_view> PolicyNames();
std::vector<std::string_view> FallbackNames();
// The PolicyInfo of `name`, or nullptr.
const PolicyInfo* FindPolicy(std::string_view name);

namespace registry_internal {

[[noreturn]] void ThrowUnknown(const char* what, std::string_view name,
                               const std::vector<std::string_view>& known);

// Calls fn with Line's policy; a pool line's fallback is the line named options.fallback.
template <class Line, Telemetry kTelemetry, class Fn>
decltype(auto) CallWithLine(const PolicyOptions& options, Fn& fn) {
  if constexpr (!Line::owns_pool) {
    return fn(PolicyOf<Line, kTelemetry>(Line::MakeBackend(options)));
  } else {
    using Result = std::invoke_result_t<Fn&, PolicyOf<Line, kTelemetry>>;
    std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
    const bool found = [&]<class... Fallbacks>(PolicyList<Fallbacks...>) {
      auto try_fallback = [&]<class Secondary>(std::type_identity<Secondary>) {
        if constexpr (Secondary::fallback_capable) {
          if (Secondary::name != options.fallback) return false;
          using Policy =
              BasicPolicy<typename Line::template backend_with<typename Secondary::backend_type>,
                          kTelemetry>;
          auto backend = Line::MakeBackend(options, Secondary::MakeBackend(options));
          if constexpr (std::is_void_v<Result>) {
            fn(Policy(std::move(backend)));
            result.emplace(true);
          } else {
            result.emplace(fn(Policy(std::move(backend))));
          }
          return true;
        } else {
          return false;
        }
      };
      return (try_fallback(std::type_identity<Fallbacks>{}) || ...);
    }(Registry{});
    if (!found) ThrowUnknown("fallback", options.fallback, FallbackNames());
    if constexpr (!std::is_void_v<Result>) return Result(std::move(*result));
  }
}

}  // namespace registry_internal

// Calls fn(policy) with a fresh policy named `name` made from `options` (see the top of this file)
// and returns what fn returns.
template <Telemetry kTelemetry = Telemetry::kOn, class Fn>
decltype(auto) WithPolicy(std::string_view name, const PolicyOptions& options, Fn&& fn) {
  using Result =
      std::invoke_result_t<Fn&, PolicyOf<typename Registry::first, kTelemetry>>;
  std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
  const bool found = [&]<class... Lines>(PolicyList<Lines...>) {
    auto try_line = [&]<class Line>(std::type_identity<Line>) {
      if (Line::name != name) return false;
      if constexpr (std::is_void_v<Result>) {
        registry_internal::CallWithLine<Line, kTelemetry>(options, fn);
        result.emplace(true);
      } else {
        result.emplace(registry_internal::CallWithLine<Line, kTelemetry>(options, fn));
      }
      return true;
    };
    return (try_line(std::type_identity<Lines>{}) || ...);
  }(Registry{});
  if (!found) registry_internal::ThrowUnknown("policy", name, PolicyNames());
  if constexpr (!std::is_void_v<Result>) return Result(std::move(*result));
}

// gtest's name generator for typed tests over lines: the line's name.
struct LineName {
  template <class Line>
  static std::string GetName(int) {
    return std::string(Line::name);
  }
};

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_REGISTRY_H_
