#include "allocators/process_malloc.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace allocators {
namespace {

// The loaded object (its base address) that defines `symbol` in the global scope, or nullptr.
const void* ObjectOf(const char* symbol, std::string* path = nullptr) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  if (address == nullptr) return nullptr;
  Dl_info info{};
  if (dladdr(address, &info) == 0) return nullptr;
  if (path != nullptr && info.dli_fname != nullptr) *path = info.dli_fname;
  return info.dli_fbase;
}

std::string MimallocVersion() {
  auto mi_version = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "mi_version"));
  if (mi_version == nullptr) return "";
  const int v = mi_version();  // major * 100 + minor * 10 + patch, e.g. 209
  return std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
}

std::string JemallocVersion() {
  using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl == nullptr) return "";
  const char* version = nullptr;
  std::size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) return "";
  std::string full = version;  // "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"
  return full.substr(0, full.find('-'));
}

std::string TcmallocVersion() {
  using TcVersion = const char* (*)(int*, int*, const char**);
  auto tc_version = reinterpret_cast<TcVersion>(dlsym(RTLD_DEFAULT, "tc_version"));
  if (tc_version == nullptr) return "";
  int major = 0, minor = 0;
  const char* patch = nullptr;
  tc_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + (patch != nullptr ? patch : "");
}

}  // namespace

std::string ProcessMalloc::NameAndVersion() const {
  return version.empty() ? name : name + " " + version;
}

std::string ProcessMalloc::Describe() const {
  return NameAndVersion() + " (" + (library.empty() ? "unknown library" : library) + ")";
}

ProcessMalloc DetectProcessMalloc() {
  ProcessMalloc result{"unknown", "", ""};
  const void* malloc_object = ObjectOf("malloc", &result.library);
  if (malloc_object == nullptr) return result;
  struct Candidate {
    const char* name;
    const char* marker;
    std::string (*version)();
  };
  static const Candidate kCandidates[] = {
      {"asan", "__asan_init", [] { return std::string("gcc ") + __VERSION__; }},
      {"tsan", "__tsan_init", [] { return std::string("gcc ") + __VERSION__; }},
      {"mimalloc", "mi_version", MimallocVersion},
      {"jemalloc", "mallctl", JemallocVersion},
      {"tcmalloc", "tc_version", TcmallocVersion},
      {"glibc", "gnu_get_libc_version", [] { return std::string(gnu_get_libc_version()); }},
  };
  for (const Candidate& candidate : kCandidates) {
    if (ObjectOf(candidate.marker) == malloc_object) {
      result.name = candidate.name;
      result.version = candidate.version();
      return result;
    }
  }
  return result;
}

void CheckProcessMallocOrDie(std::string_view expected, bool sanitized) {
  const ProcessMalloc actual = DetectProcessMalloc();
  // Under a sanitizer the sanitizer's runtime serves malloc in place of glibc.
  const bool sanitizer_owns_malloc = actual.name == "asan" || actual.name == "tsan";
  if (sanitized && expected == "glibc" && sanitizer_owns_malloc) return;
  const std::string_view wanted = (sanitized && expected == "glibc") ? "asan or tsan" : expected;
  if (actual.name == wanted) return;
  std::cerr << "error: this binary expects process malloc '" << wanted
            << "' but malloc is served by " << actual.Describe()
            << "; was it linked with the right malloc (//bazel:process_malloc.bzl)?\n";
  std::exit(3);
}

}  // namespace allocators
