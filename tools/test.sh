#!/usr/bin/env bash
# The test command: installs what is missing, runs `bazel test //...`, and ends with the line
# "N passed, N failed" counted from Bazel's per-target test results. Exits non-zero if any test
# failed or did not build.
#
# A test that cannot run here for a reason tools/setup.sh cannot fix (the kernel, the sandbox's
# permissions) prints a line "SKIPPED: <reason>" and exits 0; it is counted as skipped, never as
# passed, and the reason is printed. A tool that setup.sh installs is never a reason to skip: a test
# whose tool is missing fails and names the Debian package.
#   tools/test.sh                             # plain, then ASan+UBSan, then TSan on the tests
#                                             # tagged "threads" (CI: .ci/run)
#   HAMT_TEST_CONFIGS=plain tools/test.sh     # the plain suite only
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || exit 1

configs=${HAMT_TEST_CONFIGS:-plain asan_ubsan tsan}

# Build outputs (never test results) go to a disk cache outside the checkout that every clone on
# this machine shares, so a run rebuilds only what changed since the last one; with
# --nocache_test_results every test counted below ran in this invocation. Bazel 4 never trims a
# disk cache: it is emptied when it grows past HAMT_DISK_CACHE_MAX_GB (default 20).
# HAMT_DISK_CACHE=off builds without it.
disk_cache=${HAMT_DISK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hamt-alloc/bazel-disk-cache}
cache_flags=(--nocache_test_results)
if [[ "$disk_cache" != off ]]; then
  mkdir -p "$disk_cache" || exit 1
  used_kb=$(du -sk "$disk_cache" 2>/dev/null | cut -f1)
  if (( ${used_kb:-0} > ${HAMT_DISK_CACHE_MAX_GB:-20} * 1024 * 1024 )); then
    # Only what Bazel keeps there (its ac/ and cas/ trees), whatever else the directory holds.
    echo "emptying the disk cache $disk_cache ($((used_kb / 1024 / 1024)) GB)"
    rm -rf "${disk_cache:?}/ac" "${disk_cache:?}/cas"
  fi
  cache_flags+=(--disk_cache="$disk_cache")
fi
passed=0
failed=0
skipped=0
skip_reasons=()
status=0

# GCC 12's ThreadSanitizer runtime aborts at start-up ("unexpected memory mapping") on kernels that
# randomize more address bits than it supports (vm.mmap_rnd_bits > 28). Probe once, so that such a
# machine skips the TSan suite with that reason instead of failing every test in it.
tsan_usable() {
  local dir rc
  dir=$(mktemp -d)
  echo 'int main() { return 0; }' >"$dir/probe.cc"
  g++ -fsanitize=thread "$dir/probe.cc" -o "$dir/probe" 2>"$dir/log" && "$dir/probe" 2>>"$dir/log"
  rc=$?
  [[ $rc -ne 0 ]] && head -n 3 "$dir/log"
  rm -rf "$dir"
  return $rc
}

for config in $configs; do
  if [[ "$config" == tsan ]] && ! tsan_usable; then
    echo "=== tsan: SKIPPED: ThreadSanitizer cannot run on this machine (above) ==="
    skip_reasons+=("the whole tsan suite: ThreadSanitizer cannot start on this kernel")
    continue
  fi
  flags=()
  [[ "$config" != plain ]] && flags=(--config="$config")
  # ThreadSanitizer finds races between threads, so its suite is the tests tagged "threads": those
  # that start threads, and those that check what a TSan build does. It would only rebuild
  # everything else to find nothing.
  [[ "$config" == tsan ]] && flags+=(--build_tag_filters=threads,-no_sanitizer
                                     --test_tag_filters=threads,-no_sanitizer)
  echo "=== bazel test ${flags[*]} //... ==="
  log=$(mktemp)
  start=$(date +%s)
  bazel test "${flags[@]}" "${cache_flags[@]}" --keep_going --test_summary=short //... 2>&1 \
    | tee "$log"
  bazel_status=${PIPESTATUS[0]}
  # Summary lines look like: "//hamt:map_test   (cached) PASSED in 0.4s" or "... FAILED in 2.1s".
  p=$(grep -cE '^//[^ ]+ .*PASSED( in|$)' "$log")
  f=$(grep -cE '^//[^ ]+ .*(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE)' "$log")
  if [[ $bazel_status -ne 0 && $f -eq 0 ]]; then
    # The build itself failed: no test result to count, so count the failure once.
    f=1
  fi
  # A passed target whose log declares a skip did not run: count it as skipped, not passed.
  testlogs=$(bazel info "${flags[@]}" bazel-testlogs 2>/dev/null)
  s=0
  for target in $(grep -oE '^//[^ ]+ .*PASSED( in|$)' "$log" | awk '{print $1}'); do
    dir="$testlogs/${target#//}"; dir="${dir/://}"
    reason=$(find "$dir" -name test.log -exec grep -h -m1 '^SKIPPED: ' {} + 2>/dev/null | head -1)
    if [[ -n "$reason" ]]; then
      s=$((s + 1))
      skip_reasons+=("$config $target: ${reason#SKIPPED: }")
    fi
  done
  p=$((p - s))
  echo "$config: $p passed, $f failed, $s skipped ($(( $(date +%s) - start )) s)"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  [[ $bazel_status -ne 0 ]] && status=1
  rm -f "$log"
done
[[ $failed -gt 0 ]] && status=1
if [[ ${#skip_reasons[@]} -gt 0 ]]; then
  echo "skipped (did not run, not counted as passed): $skipped test(s)"
  printf '  %s\n' "${skip_reasons[@]}"
fi
echo "$passed passed, $failed failed"
exit $status
