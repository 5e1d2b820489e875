#include "allocators/private_library.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>
#include <utility>

#include "allocators/sanitizers.h"

namespace allocators {

bool HasStaticTlsTunable() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, kStaticTlsTunable) != nullptr;
}

void ReexecWithStaticTlsIfNeeded(int argc, char** argv) {
  (void)argc;
  if (HasStaticTlsTunable()) return;
  // Under valgrind, /proc/self/exe is valgrind's tool binary, which refuses to be started
  // directly: stay in this process (a jemalloc load then fails naming the tunable to set).
  if (const char* preload = std::getenv("LD_PRELOAD");
      preload != nullptr && std::strstr(preload, "vgpreload") != nullptr) {
    return;
  }
  std::string value = std::string(kStaticTlsTunable) + "=" + kStaticTlsTunableValue;
  if (const char* existing = std::getenv("GLIBC_TUNABLES"); existing != nullptr && *existing) {
    value = std::string(existing) + ":" + value;
  }
  if (setenv("GLIBC_TUNABLES", value.c_str(), /*overwrite=*/1) != 0) {
    std::cerr << "warning: cannot set GLIBC_TUNABLES: " << std::strerror(errno) << "\n";
    return;
  }
  std::cout.flush();
  std::cerr.flush();
  execv("/proc/self/exe", argv);
  // Only reached on failure. The variable stays set, but the dynamic loader has already read it.
  std::cerr << "warning: cannot re-execute /proc/self/exe with GLIBC_TUNABLES=" << value << ": "
            << std::strerror(errno) << "; libjemalloc.so.2 will not load privately\n";
}

PrivateLibrary PrivateLibrary::Open(const char* soname) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    std::string message = std::string("cannot load ") + soname + ": " +
                          (error != nullptr ? error : "unknown dlopen error");
    if (error != nullptr && std::strstr(error, "static TLS") != nullptr) {
      message += std::string("; start the process with GLIBC_TUNABLES=") + kStaticTlsTunable + "=" +
                 kStaticTlsTunableValue +
                 " (allocators::ReexecWithStaticTlsIfNeeded(argc, argv) does it from main)";
    }
    throw LibraryLoadError(message);
  }
  std::string path = soname;
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
      *map->l_name != '\0') {
    path = map->l_name;
  }
  return PrivateLibrary(handle, soname, std::move(path));
}

void* PrivateLibrary::symbol(const char* name) const {
  dlerror();  // clear
  void* address = dlsym(handle_, name);
  if (address == nullptr) {
    const char* error = dlerror();
    throw LibraryLoadError(soname_ + " has no symbol " + name + ": " +
                           (error != nullptr ? error : "null address"));
  }
  return address;
}

namespace {

MimallocApi LoadMimalloc() {
  const PrivateLibrary lib = PrivateLibrary::Open(kMimallocSoname);
  MimallocApi api;
  api.mi_malloc = lib.function<decltype(api.mi_malloc)>("mi_malloc");
  api.mi_free = lib.function<decltype(api.mi_free)>("mi_free");
  api.mi_heap_new = lib.function<decltype(api.mi_heap_new)>("mi_heap_new");
  api.mi_heap_delete = lib.function<decltype(api.mi_heap_delete)>("mi_heap_delete");
  api.mi_heap_destroy = lib.function<decltype(api.mi_heap_destroy)>("mi_heap_destroy");
  api.mi_heap_malloc = lib.function<decltype(api.mi_heap_malloc)>("mi_heap_malloc");
  api.mi_heap_contains_block =
      lib.function<decltype(api.mi_heap_contains_block)>("mi_heap_contains_block");
  api.mi_is_in_heap_region = lib.function<decltype(api.mi_is_in_heap_region)>("mi_is_in_heap_region");
  api.mi_check_owned = lib.function<decltype(api.mi_check_owned)>("mi_check_owned");
  api.path = lib.path();
  return api;
}

JemallocApi LoadJemalloc() {
  const PrivateLibrary lib = PrivateLibrary::Open(kJemallocSoname);
  JemallocApi api;
  api.mallocx = lib.function<decltype(api.mallocx)>("mallocx");
  api.sdallocx = lib.function<decltype(api.sdallocx)>("sdallocx");
  api.sallocx = lib.function<decltype(api.sallocx)>("sallocx");
  api.mallctl = lib.function<decltype(api.mallctl)>("mallctl");
  api.path = lib.path();
  return api;
}

TcmallocApi LoadTcmalloc() {
  const PrivateLibrary lib = PrivateLibrary::Open(kTcmallocSoname);
  TcmallocApi api;
  api.tc_malloc = lib.function<decltype(api.tc_malloc)>("tc_malloc");
  api.tc_free_sized = lib.function<decltype(api.tc_free_sized)>("tc_free_sized");
  api.path = lib.path();
  return api;
}

}  // namespace

// A function-local static whose initializer throws is initialized again on the next call.
const MimallocApi& Mimalloc() {
  static const MimallocApi api = LoadMimalloc();
  return api;
}

const JemallocApi& Jemalloc() {
  static const JemallocApi api = LoadJemalloc();
  return api;
}

const TcmallocApi& Tcmalloc() {
  static const TcmallocApi api = LoadTcmalloc();
  return api;
}

}  // namespace allocators

#if defined(HAMT_ADDRESS_SANITIZER)
// libtcmalloc_minimal registers its MallocExtension singleton with operator new and never frees it
// (by design); loaded privately under ASan that operator new is the sanitizer's, so LeakSanitizer
// would report 8 bytes. The suppression names the module, not the function
// (MallocExtension::Register): LeakSanitizer matches module names without symbolizing, so it holds
// on a machine with no llvm-symbolizer, where a function name never matches. Nothing else can be
// allocated with the sanitizer's malloc from inside that library: its own blocks come from mmap.
// Only in sanitizer builds; a binary that defines its own __lsan_default_suppressions must add
// this line to it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libtcmalloc_minimal.so\n"; }
// ... and says nothing of it: LeakSanitizer would otherwise list the suppressions it used on
// stderr at every exit of every program that loads tcmalloc privately (6 lines after a one-line
// error message).
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
#endif

#if defined(HAMT_THREAD_SANITIZER)
// The privately loaded allocators are not instrumented, so ThreadSanitizer cannot see the locks
// with which tcmalloc's central free lists pass a block freed by one thread to another: the next
// owner's writes look like races with the previous owner's. Each thread's map and policy are its
// own, so these reports (any stack through a Tcmalloc* frame) are about tcmalloc's internals, not
// ours. A binary that defines its own
// __tsan_default_suppressions must add this line to it.
extern "C" const char* __tsan_default_suppressions() { return "race:Tcmalloc\n"; }
#endif
