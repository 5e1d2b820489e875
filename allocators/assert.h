// allocators/assert.h: assertions graded by cost, as mimalloc grades mi_assert_internal and
// mi_assert_expensive, so that the fast paths stay fast while debug builds check invariants.
//
//   HAMT_ASSERT(cond)            cheap (a compare or two): preconditions and local invariants.
//                                On unless NDEBUG: in --config=debug and the sanitizer configs,
//                                off in the default -c opt build.
//   HAMT_ASSERT_EXPENSIVE(cond)  anything that walks a structure (a full trie check after every
//                                insert and erase, a free-list walk on every free). On only with
//                                --config=expensive_checks (--define=hamt_expensive_checks=1,
//                                which defines HAMT_EXPENSIVE_CHECKS); it turns HAMT_ASSERT on too.
//
// A failed assertion prints "hamt assertion failed: <cond> at <file>:<line> in <function>" to
// stderr and aborts. A disabled assertion compiles to nothing, but its condition is still parsed
// and type-checked (`if constexpr (false)`), so it cannot rot. kExpensiveChecks lets code that is
// only needed by expensive checks be written as `if constexpr (allocators::kExpensiveChecks)`.
#ifndef HAMT_ALLOC_ALLOCATORS_ASSERT_H_
#define HAMT_ALLOC_ALLOCATORS_ASSERT_H_

#include <cstdio>
#include <cstdlib>

namespace allocators {

#if defined(HAMT_EXPENSIVE_CHECKS)
inline constexpr bool kExpensiveChecks = true;
inline constexpr bool kCheapChecks = true;
#else
inline constexpr bool kExpensiveChecks = false;
#if defined(NDEBUG)
inline constexpr bool kCheapChecks = false;
#else
inline constexpr bool kCheapChecks = true;
#endif
#endif

[[noreturn, gnu::cold, gnu::noinline]] inline void AssertFail(const char* condition,
                                                              const char* file, int line,
                                                              const char* function) {
  std::fprintf(stderr, "hamt assertion failed: %s at %s:%d in %s\n", condition, file, line,
               function);
  std::fflush(stderr);
  std::abort();
}

}  // namespace allocators

#define HAMT_ASSERT_IF(enabled, condition)                                                   \
  do {                                                                                       \
    if constexpr (enabled) {                                                                 \
      if (!(condition)) [[unlikely]] {                                                       \
        ::allocators::AssertFail(#condition, __FILE__, __LINE__, __func__);                  \
      }                                                                                      \
    }                                                                                        \
  } while (false)

#define HAMT_ASSERT(condition) HAMT_ASSERT_IF(::allocators::kCheapChecks, condition)
#define HAMT_ASSERT_EXPENSIVE(condition) HAMT_ASSERT_IF(::allocators::kExpensiveChecks, condition)

#endif  // HAMT_ALLOC_ALLOCATORS_ASSERT_H_
