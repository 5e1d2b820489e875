// allocators/process_malloc.h: which allocator serves this process's malloc, found at run time.
//
// The answer comes from the dynamic linker, not from how we think the binary was linked: `malloc`
// as the global scope resolves it (dlsym(RTLD_DEFAULT, "malloc")) is matched against each
// allocator's marker symbol, and the one that lives in the same loaded object wins:
//   asan      __asan_init           (the sanitizer interposes malloc)
//   tsan      __tsan_init           (likewise)
//   mimalloc  mi_version            version from mi_version() (e.g. 209 -> "2.0.9")
//   jemalloc  mallctl               version from mallctl("version")
//   tcmalloc  tc_version            version from tc_version()
//   glibc     gnu_get_libc_version  version from gnu_get_libc_version()
// A privately loaded library (private_library.h, RTLD_LOCAL) is invisible to RTLD_DEFAULT, so it
// never changes the answer.
#ifndef HAMT_ALLOC_ALLOCATORS_PROCESS_MALLOC_H_
#define HAMT_ALLOC_ALLOCATORS_PROCESS_MALLOC_H_

#include <string>
#include <string_view>

#include "allocators/sanitizers.h"

namespace allocators {

struct ProcessMalloc {
  std::string name;      // "glibc", "mimalloc", "jemalloc", "tcmalloc", "asan", "tsan" or "unknown"
  std::string version;   // e.g. "2.36"; empty when unknown
  std::string library;   // file that defines the process's malloc, e.g. /lib/x86_64-linux-gnu/libc.so.6

  // "glibc 2.36 (/lib/x86_64-linux-gnu/libc.so.6)".
  std::string Describe() const;
  // "glibc 2.36": the form results files use (RESULTS_SCHEMA.md, process_malloc column).
  std::string NameAndVersion() const;
};

ProcessMalloc DetectProcessMalloc();

// The name this binary expects: HAMT_EXPECTED_PROCESS_MALLOC as compiled into *this* library's
// caller is not visible here, so callers pass it (see CheckProcessMallocOrDie).
//
// Prints "error: this binary expects process malloc '<expected>' but malloc is served by
// <Describe()>" to stderr and exits with status 3 if the names differ. In a binary built with
// AddressSanitizer or ThreadSanitizer (the caller's build decides; `sanitized` = true) the
// sanitizer owns malloc, so an expected "glibc" is satisfied by "asan" or "tsan".
void CheckProcessMallocOrDie(std::string_view expected, bool sanitized);

// The usual call: checks against HAMT_EXPECTED_PROCESS_MALLOC (set per binary by
// //bazel:process_malloc.bzl) and does nothing in a binary built without it.
inline void CheckProcessMallocOrDie() {
#if defined(HAMT_EXPECTED_PROCESS_MALLOC)
#if defined(HAMT_ADDRESS_SANITIZER) || defined(HAMT_THREAD_SANITIZER)
  CheckProcessMallocOrDie(HAMT_EXPECTED_PROCESS_MALLOC, true);
#else
  CheckProcessMallocOrDie(HAMT_EXPECTED_PROCESS_MALLOC, false);
#endif
#endif
}

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_PROCESS_MALLOC_H_
