#!/usr/bin/env bash
# The sweep's counts as a sharded Bazel test: shard TEST_SHARD_INDEX of TEST_TOTAL_SHARDS measures
# its part of a counts-only sweep (--shard, shards.h) into TEST_UNDECLARED_OUTPUTS_DIR, so the
# same grid runs unchanged on any Bazel remote-execution cluster. Each shard also measures the
# whole grid in one process and fails unless its cells (at least one) have exactly that run's
# counts. Bazel zips each shard's outputs; the merge reads the zips:
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
grid=(--quiet --sweep --n=1K,10K,100K,300K --pools=16384,262144,4194304 --seeds=2
      --repetitions=1 --capacity_search_limit=1M)
# The shard and the whole grid at once (--jobs=1 each: Bazel runs the other shards beside them).
"$binary" "${grid[@]}" --jobs=1 --shard="$index/$count" --out="$out" \
  >"$tmp/stdout" 2>"$tmp/stderr" & shard_pid=$!
"$binary" "${grid[@]}" --jobs=1 --out="$tmp/whole" >"$tmp/whole.stdout" 2>"$tmp/whole.stderr" ||
  { echo "FAIL: the unsharded run exited $?: $(cat "$tmp/whole.stderr")"; wait; exit 1; }
wait "$shard_pid" ||
  { echo "FAIL: shard $index/$count exited $?: $(cat "$tmp/stderr")"; exit 1; }
grep -q '"complete": true' "$out/pool_exhaustion_sweep.json" ||
  { echo "FAIL: shard $index/$count did not publish a complete result"; exit 1; }
grep -q "\"shard\": \"$index/$count\"" "$out/pool_exhaustion_sweep.json" ||
  { echo "FAIL: the result does not say it is shard $index/$count"; exit 1; }

# Every column of a grid row but the measured ones (times, RSS, page faults, huge pages, host),
# keyed by the cell, sorted. The shard's rows must be among the whole run's, row for row.
counts() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++)
                       if ($i !~ /(_ns_|^peak_rss|faults|^anon_huge|^host$)/) keep[++k] = i
                     for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["role"] == "grid" { line = $col["policy"] " " $col["fallback"] " " $col["n"] " " \
        $col["pool_slots"] " " $col["seed"] " |"
      for (j = 1; j <= k; j++) line = line " " $keep[j]; print line }' "$1" | LC_ALL=C sort
}
counts "$out/pool_exhaustion_sweep.csv" >"$tmp/shard.counts"
counts "$tmp/whole/pool_exhaustion_sweep.csv" >"$tmp/whole.counts"
cells=$(wc -l <"$tmp/shard.counts")
[[ $cells -gt 0 ]] || { echo "FAIL: shard $index/$count measured no cell"; exit 1; }
differing=$(LC_ALL=C comm -23 "$tmp/shard.counts" "$tmp/whole.counts")
[[ -z $differing ]] || {
  echo "FAIL: shard $index/$count: these cells' counts are not the unsharded run's (cell | columns):"
  head -5 <<<"$differing"
  echo "the unsharded run's: $(grep -F -f <(head -5 <<<"$differing" | cut -d'|' -f1) "$tmp/whole.counts")"
  exit 1
}
echo "shard $index/$count: $cells of $(wc -l <"$tmp/whole.counts") cells in $out, counts equal to the unsharded run's"
# The published files themselves (not the run store's links), where Bazel keeps them.
if [[ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]]; then
  mkdir -p "$TEST_UNDECLARED_OUTPUTS_DIR/shard" &&
    cp -L "$out"/pool_exhaustion_sweep.{json,csv} "$TEST_UNDECLARED_OUTPUTS_DIR/shard/" ||
    { echo "FAIL: cannot copy the result to the test's outputs"; exit 1; }
fi
