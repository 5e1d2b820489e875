#!/bin/bash
# experiments/allocator_matrix/threads_test.sh: every threaded allocator-matrix benchmark at 1K keys (two
# threads, each with its own map and policy; the allocator libraries and the released-arena list
# are shared) runs to completion without a benchmark error. Its main use is under
# --config=tsan (tools/test.sh runs every suite): ThreadSanitizer makes the binary exit non-zero
# on any report, which fails this test.
set -u
bin="$1"
out="${TEST_TMPDIR:-$(mktemp -d)}/matrix_threads.json"
fail() { echo "FAIL: $*" >&2; exit 1; }

start=$(date +%s)
"$bin" --benchmark_filter='/keys:1000/threads:2$' --benchmark_min_time=0.01 \
    --benchmark_out="$out" --benchmark_out_format=json >/dev/null ||
  fail "$bin exited with status $? (a sanitizer report above?)"
count=$(grep -c '"run_type": "iteration"' "$out")
echo "$count threaded benchmarks in $(( $(date +%s) - start )) s"
[[ $count -ge 100 ]] || fail "only $count threaded benchmarks ran (expected every policy x workload)"
errors=$(awk '/"name":/ { name = $2 } /"error_message":/ { print name, $0 }' "$out")
[[ -z "$errors" ]] || fail "benchmarks reported errors:
$errors"
echo PASS
