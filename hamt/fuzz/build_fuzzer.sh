#!/usr/bin/env bash
# hamt/fuzz/build_fuzzer.sh OUT: builds hamt/fuzz/map_fuzzer.cc with clang++ and libFuzzer (plus
# AddressSanitizer and UndefinedBehaviorSanitizer) into the binary OUT, compiling its translation
# units in parallel. Run it from the repository root; the genrule //hamt/fuzz:map_fuzzer_clang runs
# it in Bazel's execution root, which holds the same files, so Bazel caches the build.
# Fails, naming the Debian package, when clang++ or its libFuzzer runtime is not installed
# (tools/setup.sh installs both).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: hamt/fuzz/build_fuzzer.sh OUT" >&2
  exit 2
fi
out=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cxx=""
for candidate in clang++ clang++-14 clang++-15 clang++-16; do
  if command -v "$candidate" >/dev/null 2>&1; then cxx=$(command -v "$candidate"); break; fi
done
if [[ -z "$cxx" ]]; then
  echo "FAIL: clang++ is not installed (Debian packages clang and libclang-rt-14-dev; tools/setup.sh installs them)" >&2
  exit 1
fi

# The libFuzzer runtime is a separate Debian package (libclang-rt-14-dev).
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$work/probe.cc"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cc" -o "$work/probe" 2>"$work/probe.log"; then
  echo "FAIL: $cxx cannot link libFuzzer (Debian package libclang-rt-14-dev; tools/setup.sh installs it):" >&2
  head -3 "$work/probe.log" >&2
  exit 1
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -mpopcnt
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.)
libs=(-l:libgtest.a
      -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set -labsl_hashtablez_sampler
      -labsl_str_format_internal -labsl_strings -labsl_strings_internal -labsl_int128
      -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base -pthread -ldl)
# The policy-case shards first: they are the slow ones. Then every allocator source that
# //allocators:library_sources brings (a glob: a new one cannot go missing here).
sources=(hamt/fuzz/policy_cases_shard*.cc hamt/fuzz/policy_cases.cc hamt/fuzz/map_fuzzer.cc)
for source in allocators/*.cc; do
  case "$source" in *_test.cc | */alloc_bench.cc) continue ;; esac
  sources+=("$source")
done

jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
echo "building map_fuzzer with $cxx: ${#sources[@]} sources, $jobs at a time"
objects=()
running=0
failed=0
for source in "${sources[@]}"; do
  object="$work/$(echo "$source" | tr / _).o"
  objects+=("$object")
  "$cxx" "${flags[@]}" -c "$source" -o "$object" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
if ((failed)); then
  echo "FAIL: compiling map_fuzzer's sources (above)" >&2
  exit 1
fi
"$cxx" "${flags[@]}" "${objects[@]}" "${libs[@]}" -o "$out"
echo "built in $(($(date +%s) - start)) s"
