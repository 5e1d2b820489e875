#!/usr/bin/env bash
# hamt::Map side by side with libhamt (plain and with its table cache), immer's map (transient and
# persistent) and absl::flat_hash_map: one command, one table. The driver,
# experiments/hamt_bench/side_by_side.cc, describes the workloads, the method and the output.
#
# libhamt and immer are NOT vendored in this repository and must never be committed into it. Get
# checkouts outside the repository first; by default they are looked for next to it, in
# ../thirdparty/ (override with LIBHAMT_DIR and IMMER_DIR):
#   git clone https://github.com/mkirchner/hamt "$(dirname "$PWD")/thirdparty/libhamt"
#   git clone https://github.com/arximboldi/immer "$(dirname "$PWD")/thirdparty/immer"
#
# Usage:
#   tools/side_by_side.sh [driver flags]       e.g. --n=10K,100K --reps=5, --check-10m, --help
#   LIBHAMT_DIR=... IMMER_DIR=... BUILD_DIR=... NICE="nice -n -5" tools/side_by_side.sh ...
# Builds into $BUILD_DIR (default: a fresh temporary directory, removed afterwards), never into the
# repository. Needs gcc/g++ 12 (C++20), binutils (ld, objcopy) and Debian's Abseil (libabsl-dev).
# NICE is a command prefix for the benchmark (raising priority needs privileges); default: none.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
thirdparty=$(dirname "$repo")/thirdparty
LIBHAMT_DIR=${LIBHAMT_DIR:-$thirdparty/libhamt}
IMMER_DIR=${IMMER_DIR:-$thirdparty/immer}
NICE=${NICE:-}

fail() {
  echo "side_by_side.sh: $*" >&2
  exit 2
}

# Third-party sources: present, and outside the repository.
need() {  # need NAME DIR URL VAR FILE...
  local name=$1 dir=$2 url=$3 var=$4 f
  shift 4
  case "$(realpath -m "$dir")/" in
    "$repo"/*) fail "$var=$dir is inside this repository; $name must live outside it" ;;
  esac
  for f in "$@"; do
    [[ -f "$dir/$f" ]] ||
      fail "$name not found: $dir/$f is missing; get it with: git clone $url $dir (or set $var)"
  done
}
need libhamt "$LIBHAMT_DIR" https://github.com/mkirchner/hamt LIBHAMT_DIR \
  include/hamt.h include/cache.h src/hamt.c src/cache.c src/internal_types.h
need immer "$IMMER_DIR" https://github.com/arximboldi/immer IMMER_DIR \
  immer/map.hpp immer/map_transient.hpp

if [[ -n "${BUILD_DIR:-}" ]]; then
  mkdir -p "$BUILD_DIR"
else
  BUILD_DIR=$(mktemp -d /tmp/side_by_side.XXXXXX)
  trap 'rm -rf "$BUILD_DIR"' EXIT
fi

revision() { git -C "$1" rev-parse --short HEAD 2>/dev/null | sed 's/^/ @ /' || true; }
echo "libhamt: $LIBHAMT_DIR$(revision "$LIBHAMT_DIR")"
echo "immer:   $IMMER_DIR$(revision "$IMMER_DIR")"
echo "build:   $BUILD_DIR"

# Everyone compiles for the same target: -mpopcnt also turns libhamt's __builtin_popcount into one
# instruction rather than a libgcc call.
TARGET=(-march=x86-64 -mpopcnt)

# libhamt, twice: plain and with its table cache (-DWITH_TABLE_CACHE, as its Makefile builds it;
# its -DWITH_TABLE_CACHE_STATS counters are left out, nothing reads them). Release settings as its
# Makefile's, but -O2 like the rest of this build rather than -O3, and without -Werror. The hash
# is the driver's, so src/murmur3.c (and src/uh.c, used only by its tests) are not needed. Each
# build and its glue are linked into one relocatable object in which only the glue's functions
# stay global, so the two builds' identical libhamt symbols never meet.
glue_symbols() {  # the glue's functions for prefix $1, as objcopy arguments
  local fn
  for fn in new delete set pset get size; do echo "--keep-global-symbol=$1$fn"; done
}
libhamt_variant() {  # libhamt_variant NAME PREFIX [-D...]
  local name=$1 prefix=$2 src
  shift 2
  local sources=(hamt)
  [[ $# -gt 0 ]] && sources+=(cache)
  local objects=()
  for src in "${sources[@]}"; do
    gcc -std=c11 -O2 -DNDEBUG "${TARGET[@]}" "$@" -I"$LIBHAMT_DIR/include" -I"$LIBHAMT_DIR/src" \
      -c "$LIBHAMT_DIR/src/$src.c" -o "$BUILD_DIR/${name}_$src.o"
    objects+=("$BUILD_DIR/${name}_$src.o")
  done
  gcc -std=c11 -O2 -DNDEBUG -Wall -Wextra "${TARGET[@]}" "$@" -I"$repo" -I"$LIBHAMT_DIR/include" \
    -c "$repo/experiments/hamt_bench/libhamt_glue.c" -o "$BUILD_DIR/${name}_glue.o"
  ld -r -o "$BUILD_DIR/$name.o" "$BUILD_DIR/${name}_glue.o" "${objects[@]}"
  # shellcheck disable=SC2046  # one argument per symbol
  objcopy $(glue_symbols "$prefix") "$BUILD_DIR/$name.o"
}
libhamt_variant libhamt_plain lh_plain_
libhamt_variant libhamt_cache lh_cache_ -DWITH_TABLE_CACHE

# The driver, with the repository's parts it uses: the slot recycler's arena and the telemetry,
# the experiments' flags and child processes. immer's headers are system headers here: its
# warnings are not ours.
CXXFLAGS=(-O2 -std=c++20 -DNDEBUG "${TARGET[@]}" -Wall -Wextra -I"$repo" -isystem "$IMMER_DIR")
objects=("$BUILD_DIR/libhamt_plain.o" "$BUILD_DIR/libhamt_cache.o")
for src in experiments/hamt_bench/side_by_side allocators/bump_arena allocators/stats \
  experiments/common/flags experiments/common/console experiments/common/child_process \
  experiments/common/interrupt; do
  g++ "${CXXFLAGS[@]}" -c "$repo/$src.cc" -o "$BUILD_DIR/$(basename "$src").o"
  objects+=("$BUILD_DIR/$(basename "$src").o")
done
g++ -O2 -pthread -o "$BUILD_DIR/side_by_side" "${objects[@]}" \
  -labsl_flags_parse -labsl_flags_usage -labsl_flags_usage_internal -labsl_flags_internal \
  -labsl_flags_marshalling -labsl_flags_reflection -labsl_flags_config -labsl_flags_program_name \
  -labsl_flags_private_handle_accessor -labsl_flags_commandlineflag \
  -labsl_flags_commandlineflag_internal -labsl_raw_hash_set -labsl_hash -labsl_city \
  -labsl_low_level_hash -labsl_str_format_internal -labsl_strings -labsl_strings_internal \
  -labsl_throw_delegate -labsl_raw_logging_internal

echo "host:    $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(g++ --version | head -1)"
# shellcheck disable=SC2086  # NICE is a command prefix, split on purpose
$NICE "$BUILD_DIR/side_by_side" "$@"
