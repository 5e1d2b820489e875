#!/usr/bin/env bash
# The test command: installs what is missing, runs `bazel test //...`, and ends with the line
# "N passed, N failed" counted from Bazel's per-target test results. Exits non-zero if any test
# failed or did not build.
#   tools/test.sh                             # plain, then ASan+UBSan, then TSan (CI: .ci/run)
#   HAMT_TEST_CONFIGS=plain tools/test.sh     # the plain suite only
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || exit 1

configs=${HAMT_TEST_CONFIGS:-plain asan_ubsan tsan}
passed=0
failed=0
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
    continue
  fi
  flags=()
  [[ "$config" != plain ]] && flags=(--config="$config")
  echo "=== bazel test ${flags[*]} //... ==="
  log=$(mktemp)
  bazel test "${flags[@]}" --keep_going --test_summary=short //... 2>&1 | tee "$log"
  bazel_status=${PIPESTATUS[0]}
  # Summary lines look like: "//hamt:map_test   (cached) PASSED in 0.4s" or "... FAILED in 2.1s".
  p=$(grep -cE '^//[^ ]+ .*PASSED( in|$)' "$log")
  f=$(grep -cE '^//[^ ]+ .*(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE)' "$log")
  if [[ $bazel_status -ne 0 && $f -eq 0 ]]; then
    # The build itself failed: no test result to count, so count the failure once.
    f=1
  fi
  echo "$config: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
  [[ $bazel_status -ne 0 ]] && status=1
  rm -f "$log"
done
[[ $failed -gt 0 ]] && status=1
echo "$passed passed, $failed failed"
exit $status
