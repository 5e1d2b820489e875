#!/usr/bin/env bash
# Builds hamt/fuzz/map_fuzzer.cc with clang++ and libFuzzer (plus AddressSanitizer and
# UndefinedBehaviorSanitizer), replays the seed corpus, then fuzzes for HAMT_FUZZ_SECONDS
# (default 30) with a fixed seed. Fails on any crash, sanitizer report or model mismatch; the
# crashing input is kept in the test's undeclared outputs (bazel-testlogs/.../test.outputs/).
# Fails, naming the Debian package, when clang++ or its libFuzzer runtime is not installed: a
# test that did not run must not count as passed (tools/setup.sh installs both).
#
# Runs from the runfiles root (Bazel's working directory for tests), which holds the sources in
# their repository layout; outside Bazel, run it from the repository root. FUZZER_OUT=<dir> keeps
# the built binary there (hamt/fuzz/README.md: longer sessions).
set -euo pipefail

seconds=${HAMT_FUZZ_SECONDS:-30}
work=${TEST_TMPDIR:-$(mktemp -d)}
out=${FUZZER_OUT:-$work}
artifacts=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
root=$PWD

cxx=""
for candidate in clang++ clang++-14 clang++-15 clang++-16; do
  if command -v "$candidate" >/dev/null 2>&1; then cxx=$(command -v "$candidate"); break; fi
done
if [[ -z "$cxx" ]]; then
  echo "FAIL: clang++ is not installed (Debian packages clang and libclang-rt-14-dev; tools/setup.sh installs them)"
  exit 1
fi

# The libFuzzer runtime is a separate Debian package (libclang-rt-14-dev).
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$work/probe.cc"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cc" -o "$work/probe" 2>"$work/probe.log"; then
  echo "FAIL: $cxx cannot link libFuzzer (Debian package libclang-rt-14-dev; tools/setup.sh installs it):"
  head -3 "$work/probe.log"
  exit 1
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -mpopcnt
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
libs=(-l:libgtest.a
      -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set -labsl_hashtablez_sampler
      -labsl_str_format_internal -labsl_strings -labsl_strings_internal -labsl_int128
      -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base -pthread)
start=$(date +%s)
echo "building map_fuzzer with $cxx"
# Every allocator source that //allocators:library_sources brings (a glob: a new one cannot go
# missing here), then the fuzzer.
sources=("$root/hamt/fuzz/map_fuzzer.cc")
for source in "$root"/allocators/*.cc; do
  case "$source" in *_test.cc | */alloc_bench.cc) continue ;; esac
  sources+=("$source")
done
"$cxx" "${flags[@]}" -I"$root" "${sources[@]}" "${libs[@]}" -ldl -o "$out/map_fuzzer"
echo "built in $(( $(date +%s) - start )) s"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan_options=detect_leaks=1:abort_on_error=0
# clang's sanitizer runtime symbolizes through llvm-symbolizer (Debian package llvm-14), which
# Debian installs only as llvm-symbolizer-14.
symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)

# The replay runs unsymbolized on purpose: LeakSanitizer suppressions (allocators/private_library.cc)
# must hold on a machine without a symbolizer, where only module names can match.
echo "=== replaying the seed corpus (unsymbolized) ==="
replay_log="$work/replay.log"
if ! ASAN_OPTIONS=$asan_options:symbolize=0 "$out/map_fuzzer" "$root"/hamt/fuzz/corpus/* \
    >"$replay_log" 2>&1; then
  cat "$replay_log"
  echo "FAIL: a seed corpus input fails"
  exit 1
fi
echo "replayed $(grep -c '^Executed ' "$replay_log") inputs"

export ASAN_OPTIONS=$asan_options:symbolize=1${symbolizer:+:external_symbolizer_path=$symbolizer}

echo "=== fuzzing for $seconds s (seed 1) ==="
mkdir -p "$work/corpus"
cp "$root"/hamt/fuzz/corpus/* "$work/corpus/"
log="$work/fuzz.log"
status=0
"$out/map_fuzzer" -seed=1 -max_total_time="$seconds" -max_len=2048 -timeout=30 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$work/corpus" >"$log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  cat "$log"
  echo "FAIL: map_fuzzer exited with status $status; reproducer: $(ls "$artifacts"/crash-* \
    "$artifacts"/timeout-* "$artifacts"/oom-* 2>/dev/null | head -1)"
  exit 1
fi
grep -E '^(Done|stat::)' "$log" || tail -n 5 "$log"
echo "PASS in $(( $(date +%s) - start )) s"
