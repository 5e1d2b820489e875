"""Compiler and linker flags shared by every hamt-alloc C++ target, defined once.

Like Abseil's ABSL_DEFAULT_COPTS: one compiler (g++ 12 on Debian 12), so plain lists, no select().
"""

HAMT_COPTS = [
    "-std=c++20",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-sign-compare",
    # std::popcount compiles to one POPCNT instruction instead of a table lookup. Every x86-64 CPU
    # since 2008 has it; the README says how to build without it.
    "-mpopcnt",
]

# Tests may use gtest macros that trip -Wextra in headers we do not own.
HAMT_TEST_COPTS = HAMT_COPTS + [
    "-Wno-unused-parameter",
]

# Debian's Abseil, Benchmark and GoogleTest are shared/static libraries built with -pthread.
HAMT_LINKOPTS = ["-pthread"]
