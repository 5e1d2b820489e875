#!/usr/bin/env bash
# The sweep's counts as a sharded Bazel test: shard TEST_SHARD_INDEX of TEST_TOTAL_SHARDS measures
# its part of a counts-only sweep (--shard, shards.h) into TEST_UNDECLARED_OUTPUTS_DIR, so the
# same grid runs unchanged on any Bazel remote-execution cluster. Bazel zips each shard's outputs;
# the merge reads the zips:
#   bazel test //experiments/pool_exhaustion:sweep_shard_test
#   bazel run //experiments:merge -- --out=/tmp/merged \
#     $PWD/bazel-testlogs/experiments/pool_exhaustion/sweep_shard_test/shard_*_of_4/test.outputs/outputs.zip
set -u
binary="$1"
index="${TEST_SHARD_INDEX:-0}" count="${TEST_TOTAL_SHARDS:-1}"
# Tells Bazel this test shards itself (a test that does not is run whole in every shard).
[[ -n "${TEST_SHARD_STATUS_FILE:-}" ]] && touch "$TEST_SHARD_STATUS_FILE"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
out="$tmp/shard"
"$binary" --quiet --sweep --n=1K,10K,100K,300K --pools=16384,262144,4194304 --seeds=2 \
  --repetitions=1 --capacity_search_limit=1M --shard="$index/$count" --out="$out" \
  >"$tmp/stdout" 2>"$tmp/stderr" ||
  { echo "FAIL: shard $index/$count exited $?: $(cat "$tmp/stderr")"; exit 1; }
grep -q '"complete": true' "$out/pool_exhaustion_sweep.json" ||
  { echo "FAIL: shard $index/$count did not publish a complete result"; exit 1; }
grep -q "\"shard\": \"$index/$count\"" "$out/pool_exhaustion_sweep.json" ||
  { echo "FAIL: the result does not say it is shard $index/$count"; exit 1; }
echo "shard $index/$count: $(grep -c ',grid,' "$out/pool_exhaustion_sweep.csv") cells in $out"
# The published files themselves (not the run store's links), where Bazel keeps them.
if [[ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]]; then
  mkdir -p "$TEST_UNDECLARED_OUTPUTS_DIR/shard" &&
    cp -L "$out"/pool_exhaustion_sweep.{json,csv} "$TEST_UNDECLARED_OUTPUTS_DIR/shard/" ||
    { echo "FAIL: cannot copy the result to the test's outputs"; exit 1; }
fi
