// Built once per process allocator by cc_test_per_malloc (//bazel:process_malloc.bzl): checks that
// the identity check agrees with the link, that malloc really is served by that allocator (asked
// through the allocator's own API), that the check dies on a mismatch, and that loading the other
// allocators privately (private_library.h) leaves the process malloc alone.
#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/sanitizers.h"
#include "gtest/gtest.h"

#ifndef HAMT_EXPECTED_PROCESS_MALLOC
#error "built by cc_test_per_malloc, which defines HAMT_EXPECTED_PROCESS_MALLOC"
#endif

namespace allocators {
namespace {

// The sanitizer's own malloc replaces glibc's (the non-glibc binaries are not sanitized).
#if defined(HAMT_ADDRESS_SANITIZER)
constexpr const char* kSanitizerMalloc = "asan";
#elif defined(HAMT_THREAD_SANITIZER)
constexpr const char* kSanitizerMalloc = "tsan";
#else
constexpr const char* kSanitizerMalloc = nullptr;
#endif

std::string Expected() {
  const std::string expected = HAMT_EXPECTED_PROCESS_MALLOC;
  return kSanitizerMalloc != nullptr && expected == "glibc" ? kSanitizerMalloc : expected;
}

template <class Fn>
Fn Global(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

TEST(ProcessMallocTest, IdentityMatchesTheLink) {
  const ProcessMalloc actual = DetectProcessMalloc();
  EXPECT_EQ(actual.name, Expected()) << actual.Describe();
  EXPECT_FALSE(actual.version.empty()) << actual.Describe();
  const std::string library_part = actual.name == "glibc"      ? "libc.so"
                                   : actual.name == "asan"     ? "libasan"
                                   : actual.name == "tsan"     ? "libtsan"
                                   : actual.name == "mimalloc" ? "libmimalloc"
                                   : actual.name == "jemalloc" ? "libjemalloc"
                                                               : "libtcmalloc";
  EXPECT_NE(actual.library.find(library_part), std::string::npos) << actual.Describe();
  EXPECT_EQ(actual.Describe(), actual.name + " " + actual.version + " (" + actual.library + ")");
  CheckProcessMallocOrDie();  // exits non-zero (failing the test) on a mismatch
  std::printf("process malloc: %s\n", actual.Describe().c_str());
}

// Ask the allocator itself whether it served a malloc(64).
TEST(ProcessMallocTest, MallocIsServedByThatAllocator) {
  const std::string expected = Expected();
  void* volatile p = std::malloc(64);
  ASSERT_NE(p, nullptr);
  if (expected == "mimalloc") {
    auto in_heap = Global<bool (*)(const void*)>("mi_is_in_heap_region");
    ASSERT_NE(in_heap, nullptr);
    EXPECT_TRUE(in_heap(p));
  } else if (expected == "jemalloc") {
    using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
    auto mallctl = Global<Mallctl>("mallctl");
    ASSERT_NE(mallctl, nullptr);
    unsigned arena = ~0u;
    std::size_t size = sizeof(arena);
    void* pointer = p;
    EXPECT_EQ(mallctl("arenas.lookup", &arena, &size, &pointer, sizeof(pointer)), 0);
    EXPECT_NE(arena, ~0u);
    auto sallocx = Global<std::size_t (*)(const void*, int)>("sallocx");
    ASSERT_NE(sallocx, nullptr);
    EXPECT_EQ(sallocx(p, 0), 64u);  // jemalloc's size class for 64 bytes
  } else if (expected == "tcmalloc") {
    auto ownership = Global<int (*)(const void*)>("MallocExtension_GetOwnership");
    ASSERT_NE(ownership, nullptr);
    EXPECT_EQ(ownership(p), 1);  // MallocExtension_kOwned
    int on_stack = 0;
    EXPECT_EQ(ownership(&on_stack), 2);  // MallocExtension_kNotOwned
  } else if (expected == "asan" || expected == "tsan") {
    auto owned = Global<int (*)(const void*)>("__sanitizer_get_ownership");
    ASSERT_NE(owned, nullptr);
    EXPECT_EQ(owned(p), 1);
  } else {
    ASSERT_EQ(expected, "glibc");
    // glibc's arena accounting grows by the block (plus its header) while it is live.
    void* q_before_probe = std::malloc(1);
    const std::size_t before = mallinfo2().uordblks;
    void* volatile q = std::malloc(4096);
    const std::size_t after = mallinfo2().uordblks;
    EXPECT_GE(after - before, 4096u);
    std::free(q);
    std::free(q_before_probe);
  }
  std::free(p);
}

TEST(ProcessMallocDeathTest, MismatchExitsWithAClearError) {
  EXPECT_EXIT(CheckProcessMallocOrDie("nonsense", false), ::testing::ExitedWithCode(3),
              "error: this binary expects process malloc 'nonsense' but malloc is served by " +
                  Expected());
}

// The design fact the library policies rest on: RTLD_LOCAL keeps the process malloc as it was.
TEST(ProcessMallocTest, PrivateLoadingLeavesTheProcessMallocAlone) {
  const ProcessMalloc before = DetectProcessMalloc();
  const MimallocApi& mi = Mimalloc();
  const TcmallocApi& tc = Tcmalloc();
  const JemallocApi& je = Jemalloc();  // needs the static-TLS tunable from the test's env
  const ProcessMalloc after = DetectProcessMalloc();
  EXPECT_EQ(after.name, before.name);
  EXPECT_EQ(after.library, before.library);
  EXPECT_EQ(after.name, Expected());

  void* m = mi.mi_malloc(64);
  EXPECT_TRUE(mi.mi_check_owned(m));
  void* volatile p = std::malloc(64);
  EXPECT_EQ(mi.mi_is_in_heap_region(p), Expected() == "mimalloc");
  std::free(p);
  mi.mi_free(m);

  void* j = je.mallocx(64, 0);
  EXPECT_EQ(je.sallocx(j, 0), 64u);
  je.sdallocx(j, 64, 0);
  void* t = tc.tc_malloc(64);
  tc.tc_free_sized(t, 64);
  EXPECT_NE(mi.path.find("libmimalloc.so.2"), std::string::npos) << mi.path;
  EXPECT_NE(je.path.find("libjemalloc.so.2"), std::string::npos) << je.path;
  EXPECT_NE(tc.path.find("libtcmalloc_minimal.so.4"), std::string::npos) << tc.path;
}

}  // namespace
}  // namespace allocators
