#!/usr/bin/env bash
# hamt/fuzz/map_fuzzer_smoke_test.sh [FUZZER]: replays the seed corpus on the libFuzzer build of
# hamt/fuzz/map_fuzzer.cc (clang++, AddressSanitizer, UndefinedBehaviorSanitizer), then fuzzes for
# HAMT_FUZZ_SECONDS (default 30) with a fixed seed. Fails on any crash, sanitizer report or model
# mismatch; the crashing input is kept in the test's undeclared outputs
# (bazel-testlogs/.../test.outputs/).
#
# Under Bazel, FUZZER is //hamt/fuzz:map_fuzzer_clang, built (and cached) by build_fuzzer.sh; a
# machine without clang++ or libFuzzer fails that build, naming the Debian package, so the test
# is never counted as passed there. Without FUZZER (outside Bazel, from the repository root) it
# builds the fuzzer first, into FUZZER_OUT=<dir> if set (hamt/fuzz/README.md: longer sessions).
set -euo pipefail

seconds=${HAMT_FUZZ_SECONDS:-30}
work=${TEST_TMPDIR:-$(mktemp -d)}
artifacts=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
root=$PWD
start=$(date +%s)

if [[ $# -ge 1 ]]; then
  fuzzer=$1
else
  out=${FUZZER_OUT:-$work}
  mkdir -p "$out"
  hamt/fuzz/build_fuzzer.sh "$out/map_fuzzer"
  fuzzer=$out/map_fuzzer
fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan_options=detect_leaks=1:abort_on_error=0
# clang's sanitizer runtime symbolizes through llvm-symbolizer (Debian package llvm-14), which
# Debian installs only as llvm-symbolizer-14.
symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)

# The replay runs unsymbolized on purpose: LeakSanitizer suppressions (allocators/private_library.cc)
# must hold on a machine without a symbolizer, where only module names can match.
echo "=== replaying the seed corpus (unsymbolized) ==="
replay_log="$work/replay.log"
if ! ASAN_OPTIONS=$asan_options:symbolize=0 "$fuzzer" "$root"/hamt/fuzz/corpus/* \
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
"$fuzzer" -seed=1 -max_total_time="$seconds" -max_len=2048 -timeout=30 \
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
