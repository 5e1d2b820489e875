// allocators/private_library.h: an allocator library's API loaded privately, as a table of
// function pointers, so that e.g. the mimalloc API can be measured as a *policy* inside a process
// whose malloc is still glibc.
//
// Linking libmimalloc/libjemalloc/libtcmalloc replaces malloc for the whole process. Loading the
// same library with dlopen(RTLD_NOW | RTLD_LOCAL) does not: its symbols stay out of the global
// scope, so `malloc` keeps resolving to whatever the process was linked with (checked by
// process_malloc_test). In a process that *is* linked with that library, dlopen returns the
// already-loaded copy, so the policy and the process malloc are the same allocator: also fine.
//
// Cost: a call through a dlsym'd pointer is one indirect call, the same as a normal call into a
// shared library, which goes through the PLT (an indirect jump via the GOT) anyway.
//
// Libraries are loaded once per process and never unloaded: blocks, heaps, arenas and thread
// caches they hand out must stay valid for the life of the process.
//
// jemalloc needs static TLS that glibc does not reserve for dlopen by default: its dlopen fails
// with "cannot allocate memory in static TLS block" unless the process started with
// GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384. ReexecWithStaticTlsIfNeeded() arranges that
// from main(); Bazel tests get it from their `env` (see //bazel:process_malloc.bzl).
#ifndef HAMT_ALLOC_ALLOCATORS_PRIVATE_LIBRARY_H_
#define HAMT_ALLOC_ALLOCATORS_PRIVATE_LIBRARY_H_

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace allocators {

// The library could not be loaded or lacks a symbol. what() names the library and gives dlerror().
class LibraryLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The tunable that lets jemalloc be dlopen'ed, and the value we set it to (bytes).
inline constexpr char kStaticTlsTunable[] = "glibc.rtld.optional_static_tls";
inline constexpr char kStaticTlsTunableValue[] = "16384";

// Call first thing in main(). If GLIBC_TUNABLES does not already set kStaticTlsTunable, adds it
// (keeping any other tunables) and re-executes /proc/self/exe with the same argv, so this returns
// only in a process that has it. If execv fails, prints why to stderr and returns (a later
// jemalloc load then throws LibraryLoadError). Under valgrind it returns at once: set the tunable
// in valgrind's environment instead.
void ReexecWithStaticTlsIfNeeded(int argc, char** argv);

// True when this process was started with the static-TLS tunable set.
bool HasStaticTlsTunable();

// dlopen(soname, RTLD_NOW | RTLD_LOCAL) and dlsym. Never dlclose'd.
class PrivateLibrary {
 public:
  // Throws LibraryLoadError("cannot load <soname>: <dlerror>[; hint]").
  static PrivateLibrary Open(const char* soname);

  // Throws LibraryLoadError("<soname> has no symbol <name>: <dlerror>").
  void* symbol(const char* name) const;

  template <class Fn>
  Fn function(const char* name) const {
    return reinterpret_cast<Fn>(symbol(name));
  }

  const std::string& soname() const { return soname_; }
  // Absolute path of the loaded file (from dlinfo), e.g. /usr/lib/x86_64-linux-gnu/libmimalloc.so.2.
  const std::string& path() const { return path_; }

 private:
  PrivateLibrary(void* handle, std::string soname, std::string path)
      : handle_(handle), soname_(std::move(soname)), path_(std::move(path)) {}
  void* handle_;
  std::string soname_;
  std::string path_;
};

// mimalloc's heap type, opaque (mimalloc.h: typedef struct mi_heap_s mi_heap_t).
struct MiHeap;

// The parts of mimalloc.h (2.x) that the backends and tests use; names as in mimalloc.h.
struct MimallocApi {
  void* (*mi_malloc)(std::size_t size);
  void (*mi_free)(void* p);
  MiHeap* (*mi_heap_new)();
  void (*mi_heap_delete)(MiHeap* heap);
  void (*mi_heap_destroy)(MiHeap* heap);
  void* (*mi_heap_malloc)(MiHeap* heap, std::size_t size);
  bool (*mi_heap_contains_block)(MiHeap* heap, const void* p);
  bool (*mi_is_in_heap_region)(const void* p);  // segment map: false for every block under ASan
  bool (*mi_check_owned)(const void* p);        // in this thread's default heap? (walks pages)
  std::string path;
};

// The parts of jemalloc.h (5.x, unprefixed) that the backends and tests use.
struct JemallocApi {
  void* (*mallocx)(std::size_t size, int flags);
  void (*sdallocx)(void* p, std::size_t size, int flags);
  std::size_t (*sallocx)(const void* p, int flags);
  int (*mallctl)(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen);
  std::string path;
};

// jemalloc.h's flag macros as functions (same encoding as jemalloc 5.3's jemalloc.h).
constexpr int JemallocArenaFlag(unsigned arena) { return static_cast<int>((arena + 1) << 20); }
constexpr int JemallocTcacheFlag(unsigned tcache) { return static_cast<int>((tcache + 2) << 8); }

// The parts of gperftools/tcmalloc.h that the backend uses.
struct TcmallocApi {
  void* (*tc_malloc)(std::size_t size);
  void (*tc_free_sized)(void* p, std::size_t size);
  std::string path;
};

// Each loads its library on first use (thread-safe) and returns the same table afterwards.
// Throws LibraryLoadError when the library cannot be loaded; a later call tries again.
const MimallocApi& Mimalloc();   // libmimalloc.so.2
const JemallocApi& Jemalloc();   // libjemalloc.so.2 (needs the static-TLS tunable; see above)
const TcmallocApi& Tcmalloc();   // libtcmalloc_minimal.so.4

inline constexpr char kMimallocSoname[] = "libmimalloc.so.2";
inline constexpr char kJemallocSoname[] = "libjemalloc.so.2";
inline constexpr char kTcmallocSoname[] = "libtcmalloc_minimal.so.4";

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_PRIVATE_LIBRARY_H_
