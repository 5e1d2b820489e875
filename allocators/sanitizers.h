// allocators/sanitizers.h: which sanitizer this translation unit is compiled with, for both
// compilers that build this project. g++ (the Bazel build) defines __SANITIZE_ADDRESS__ and
// __SANITIZE_THREAD__; clang (the libFuzzer build, hamt/fuzz) only answers __has_feature.
//
//   HAMT_ADDRESS_SANITIZER  defined as 1 under -fsanitize=address
//   HAMT_THREAD_SANITIZER   defined as 1 under -fsanitize=thread
#ifndef HAMT_ALLOC_ALLOCATORS_SANITIZERS_H_
#define HAMT_ALLOC_ALLOCATORS_SANITIZERS_H_

#if defined(__SANITIZE_ADDRESS__)
#define HAMT_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAMT_ADDRESS_SANITIZER 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define HAMT_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAMT_THREAD_SANITIZER 1
#endif
#endif

#endif  // HAMT_ALLOC_ALLOCATORS_SANITIZERS_H_
