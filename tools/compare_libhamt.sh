#!/usr/bin/env bash
# Side-by-side benchmark of hamt::Map (hamt/hamt.h) against libhamt (github.com/mkirchner/hamt),
# driver: experiments/hamt_bench/libhamt_compare.cc (workloads, contenders and output are described
# there).
#
# libhamt is NOT vendored in this repository and must never be committed into it. Get a checkout
# somewhere outside the repo first, e.g.
#   git clone https://github.com/mkirchner/hamt /tmp/libhamt
# and point LIBHAMT_DIR at it (default /tmp/libhamt). Its include/hamt.h, include/murmur3.h,
# src/hamt.c, src/murmur3.c and src/internal_types.h are used (the current API: hamt_config,
# hamt_allocator, hamt_set/hamt_pset).
#
# Usage:
#   LIBHAMT_DIR=/path/to/hamt tools/compare_libhamt.sh [driver flags]
# Driver flags: --reps-small=41 (N=10,000) --reps-large=7 (N=1,000,000) --no-pset --check-10m
# Set NICE="nice -n -5" (needs privileges) to raise the benchmark's priority; default: no nice.
# Builds into $BUILD_DIR (default: a fresh temporary directory), never into the repository.
# Needs gcc/g++ (C++20) and Debian's Abseil shared libraries (libabsl-dev).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
LIBHAMT_DIR=${LIBHAMT_DIR:-/tmp/libhamt}
BUILD_DIR=${BUILD_DIR:-$(mktemp -d /tmp/compare_libhamt.XXXXXX)}
NICE=${NICE:-}

for f in include/hamt.h include/murmur3.h src/hamt.c src/murmur3.c src/internal_types.h; do
  if [[ ! -f "$LIBHAMT_DIR/$f" ]]; then
    echo "error: $LIBHAMT_DIR/$f not found." >&2
    echo "libhamt is not vendored: git clone https://github.com/mkirchner/hamt somewhere outside" >&2
    echo "this repository and set LIBHAMT_DIR to it." >&2
    exit 1
  fi
done
mkdir -p "$BUILD_DIR"

echo "libhamt: $LIBHAMT_DIR$(git -C "$LIBHAMT_DIR" rev-parse --short HEAD 2>/dev/null | sed 's/^/ @ /' || true)"
echo "build:   $BUILD_DIR"

# libhamt as its Makefile builds it for release use: plain C, -O2, NDEBUG (asserts off).
for src in hamt murmur3; do
  gcc -O2 -DNDEBUG -I"$LIBHAMT_DIR/include" -I"$LIBHAMT_DIR/src" \
    -c "$LIBHAMT_DIR/src/$src.c" -o "$BUILD_DIR/libhamt_$src.o"
done

# Our side: the driver plus the SlotRecycler's out-of-line parts (its arena and the telemetry). libhamt's include dir comes
# first so that <hamt.h> is libhamt's, while "hamt/hamt.h" is ours.
CXXFLAGS=(-O2 -std=c++20 -mpopcnt -DNDEBUG -I"$LIBHAMT_DIR/include" -I"$repo" -I/usr/include)
for src in experiments/hamt_bench/libhamt_compare allocators/bump_arena allocators/stats; do
  g++ "${CXXFLAGS[@]}" -c "$repo/$src.cc" -o "$BUILD_DIR/$(basename "$src").o"
done
g++ -O2 -o "$BUILD_DIR/libhamt_compare" \
  "$BUILD_DIR/libhamt_compare.o" "$BUILD_DIR/bump_arena.o" "$BUILD_DIR/stats.o" \
  "$BUILD_DIR/libhamt_hamt.o" "$BUILD_DIR/libhamt_murmur3.o" \
  -labsl_hash -labsl_city -labsl_low_level_hash -labsl_str_format_internal -labsl_strings

echo "host:    $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(g++ --version | head -1)"
# shellcheck disable=SC2086  # NICE is a command prefix, split on purpose
exec $NICE "$BUILD_DIR/libhamt_compare" "$@"
