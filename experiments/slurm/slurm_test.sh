#!/usr/bin/env bash
# A real single-node Slurm cluster (munged, slurmctld, slurmd from Debian's packages) started in
# the test's temporary directory. On it, through submit_sweep.sh with its defaults (whole nodes,
# --exclusive: the node runs one task at a time):
#   1. a small pool-exhaustion sweep as a 4-task job array plus an afterok merge job, and a small
#      persistent_churn grid the same way; each merged result's counts must equal a single
#      process's run of the same grid, cell for cell;
#   2. --rerun of the pool sweep after one shard's result is unpublished: only that task is
#      resubmitted, it continues its run (--resume), and the new merge agrees again.
# Every daemon is stopped on any exit.
set -u
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
merge="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
submit="$3"
source "$4"
churn="$(cd "$(dirname "$5")" && pwd)/$(basename "$5")"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*"; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons; a Bazel test's PATH lacks sbin
python=/usr/bin/python3  # Debian's: stdlib only (csv, json)

for tool in slurmctld slurmd munged sbatch squeue scontrol sinfo; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed (Debian packages slurmctld slurmd slurm-client munge; tools/setup.sh installs them)"
done
if [[ $(id -u) -ne 0 ]]; then
  # tools/test.sh counts this as skipped, never as passed.
  echo "SKIPPED: the local Slurm cluster needs root (slurmd runs jobs as their user)"
  exit 0
fi

# Short and under /tmp: Unix socket paths (munged's, slurmstepd's) must stay under 108 bytes, and
# munged wants every directory above its socket executable by all (the test's is under /root).
cluster=$(mktemp -d /tmp/hamt-slurm.XXXXXX) || fail "cannot make the cluster's directory"
trap 'cluster_stop; rm -rf "$cluster"' EXIT
start=$SECONDS
cluster_start "$cluster" || fail "the local Slurm cluster did not start"
echo "cluster: node idle after $((SECONDS - start)) s"

grid=(--sweep --n=1K,3K,10K --pools=16384,65536,262144 --seeds=2 --repetitions=1
      --capacity_search_limit=300K)
churn_grid=(--n=1K,2K --policies=malloc,bump_pool,slot_recycler --samples=5)
out="$tmp/sweep" churn_out="$tmp/churn"

# submit_grid OUT BINARY FLAGS...: the default submission (--exclusive) of 4 shards; sets array_job,
# merge_job, shards from OUT/jobs.
submit_grid() {
  local dir=$1 bin=$2 submitted; shift 2
  submitted=$("$submit" --shards=4 --out="$dir" --binary="$bin" --merge="$merge" -- "$@" 2>&1) ||
    fail "submit_sweep.sh failed: $submitted"
  echo "$submitted"
  source "$dir/jobs" || fail "no $dir/jobs"
  echo "jobs submitted: $(basename "$bin"): array $array_job ($shards tasks), merge $merge_job (afterok)"
}
# finished NAME: the array and merge job of the last submit_grid() completed, each task on its own.
finished() {
  local states completed starts
  cluster_wait_job "$merge_job" 180 || fail "the $1 merge job did not finish: $(squeue 2>&1)"
  states=$(cluster_job_state "$array_job")
  completed=$(grep -c '^COMPLETED$' <<<"$states")
  echo "array tasks completed ($1): $completed/$(wc -l <<<"$states")"
  [[ $completed -eq $(wc -l <<<"$states") && $completed -gt 0 ]] ||
    fail "$1 array task states: $(tr '\n' ' ' <<<"$states")"
  [[ $(cluster_job_state "$merge_job") == COMPLETED ]] ||
    fail "$1 merge job $(cluster_job_state "$merge_job"): $(cat "$2"/slurm/merge_*.out 2>/dev/null)"
  # --exclusive: a whole node per task, so the node ran them one after another (whole seconds).
  starts=$(scontrol -o show job "$array_job" | awk '{ for (i = 1; i <= NF; i++) {
      split($i, kv, "="); if (kv[1] ~ /^(StartTime|EndTime|OverSubscribe)$/) v[kv[1]] = kv[2] }
    print v["StartTime"], v["EndTime"], v["OverSubscribe"] }' | sort)
  awk '$3 != "NO" || (NR > 1 && $1 < end) { bad = 1 } { end = $2 } END { exit bad }' \
    <<<"$starts" || fail "$1 tasks shared the node: $(tr '\n' ';' <<<"$starts")"
}

# Both grids are queued at once; the node runs their tasks one at a time.
start=$SECONDS
submit_grid "$out" "$binary" "${grid[@]}"
pool_array=$array_job pool_merge=$merge_job
[[ -x $out/bin/$(basename "$binary") && -x $out/bin/merge ]] ||
  fail "submit_sweep.sh did not copy the binaries to $out/bin"
grep -q -- '--jobs=1' "$out/submission" || fail "no --jobs=1 for pool_exhaustion on whole nodes"
submit_grid "$churn_out" "$churn" "${churn_grid[@]}"
grep -q -- '--jobs' "$churn_out/submission" && fail "--jobs given to persistent_churn, which has none"
churn_array=$array_job churn_merge=$merge_job
array_job=$pool_array merge_job=$pool_merge
finished "pool_exhaustion" "$out"
array_job=$churn_array merge_job=$churn_merge
finished "persistent_churn" "$churn_out"
echo "slurm: both grids (8 tasks, 2 merges) done in $((SECONDS - start)) s"

# The same grid in one process; counts (not times) must agree cell for cell.
"$binary" --quiet "${grid[@]}" --out="$tmp/single" >/dev/null 2>"$tmp/single.stderr" ||
  fail "the single-process run failed: $(cat "$tmp/single.stderr")"
counts() {  # role, cell key and every count column of the grid rows, sorted
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["role"] == "grid" { print $col["policy"], $col["n"], $col["pool_slots"], $col["seed"],
      $col["allocations"], $col["frees"], $col["bytes_allocated"], $col["fallback_allocations"],
      $col["slots_demanded"], $col["high_water_slots"], $col["live_bytes"],
      $col["peak_live_bytes"], $col["reused_allocations"] }' "$1" | sort
}
caps() { "$python" -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(sorted((c["policy"], c["pool_slots"], c["largest_n"]) for c in d["capacities"]))' "$1"; }
single_csv="$tmp/single/pool_exhaustion_sweep.csv"
single_caps=$(caps "$tmp/single/pool_exhaustion_sweep.json") || fail "cannot read the capacities"
pool_verdict() {  # the merged pool sweep in $out/merged against the single process's
  local merged_csv="$out/merged/pool_exhaustion_sweep.csv" cells merged_caps
  [[ -s $merged_csv ]] || fail "no merged result in $out/merged"
  cells=$(counts "$single_csv" | wc -l)
  [[ $cells -gt 0 ]] || fail "the grid has no cells"
  if ! diff <(counts "$merged_csv") <(counts "$single_csv") >"$tmp/diff"; then
    fail "merged counts differ from the single process's: $(head -5 "$tmp/diff")"
  fi
  # Capacities too (the shards shared the capacity searches out).
  merged_caps=$(caps "$out/merged/pool_exhaustion_sweep.json") || fail "cannot read the capacities"
  [[ -n $merged_caps && "$merged_caps" == "$single_caps" ]] ||
    fail "merged capacities differ from the single process's: $merged_caps vs $single_caps"
  echo "merge verdict ($1): $cells cells, counts equal to the single-process run, cell for cell"
}
pool_verdict "pool_exhaustion"

# persistent_churn: every column but times, RSS and the host, compared as numbers.
"$churn" --quiet "${churn_grid[@]}" --out="$tmp/churn_single" >/dev/null 2>"$tmp/churn.stderr" ||
  fail "the single-process persistent_churn run failed: $(cat "$tmp/churn.stderr")"
verdict=$("$python" - "$churn_out/merged/persistent_churn.csv" "$tmp/churn_single/persistent_churn.csv" <<'PY'
import csv, sys
COUNTS = ["allocations_per_update", "frees_per_update", "slots_per_update", "fallback_allocations",
          "update_slots_demanded", "updates_to_exhaust", "bytes_per_update", "live_bytes_end",
          "peak_live_bytes"]
MEASURED = {"ns_per_update", "peak_rss_kb", "seconds", "host"}  # differ run to run
def cells(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"no cells in {path}")
    missing = [c for c in COUNTS if c not in rows[0]]
    if missing:
        sys.exit(f"{path} lacks the columns {missing}")
    def value(text):
        try:
            return float(text)
        except ValueError:
            return text
    columns = [c for c in rows[0] if c not in MEASURED]
    return columns, sorted(tuple((c, value(r[c])) for c in columns) for r in rows)
(merged_columns, merged), (single_columns, single) = cells(sys.argv[1]), cells(sys.argv[2])
if merged_columns != single_columns:
    sys.exit(f"columns differ: {merged_columns} vs {single_columns}")
if merged != single:
    extra = [dict(c) for c in merged if c not in single][:2]
    lacking = [dict(c) for c in single if c not in merged][:2]
    sys.exit(f"{len(merged)} merged cells vs {len(single)}; merged only: {extra}; single only: {lacking}")
print(f"{len(merged)} cells, {len(merged_columns)} columns ({', '.join(COUNTS)} among them)")
PY
) || fail "merged persistent_churn counts differ from the single process's: $verdict"
echo "merge verdict (persistent_churn): $verdict: equal to the single-process run, cell for cell"

# A refused merge: one shard missing is named.
"$merge" --quiet --out="$tmp/bad" "$out/shard_0" "$out/shard_1" "$out/shard_3" \
  >/dev/null 2>"$tmp/bad.stderr" && fail "a merge without shard 2 succeeded"
grep -q "shard 2/4 is missing" "$tmp/bad.stderr" || fail "missing shard not named: $(cat "$tmp/bad.stderr")"

# --rerun: nothing to do for a finished submission; after shard 2's result is unpublished (as a
# task killed after its last cell leaves it: no .current, no .complete), task 2 alone is
# resubmitted, continues that run (--resume), and the new merge agrees with one process again.
rerun=$("$submit" --rerun --out="$churn_out" 2>&1) || fail "--rerun of a finished submission: $rerun"
[[ $rerun == *"nothing to resubmit"* ]] || fail "--rerun of a finished submission: $rerun"
run=$(readlink "$out/shard_2/pool_exhaustion_sweep.current") || fail "shard 2 has no published run"
rm "$out/shard_2/pool_exhaustion_sweep.current" "$out/shard_2/$run/.complete" ||
  fail "cannot unpublish shard 2"
rerun=$("$submit" --rerun --out="$out" 2>&1) || fail "--rerun failed: $rerun"
echo "$rerun"
[[ $rerun == *"resubmitted shards 2 of 4"* ]] || fail "--rerun did not resubmit shard 2 alone"
source "$out/jobs"
echo "jobs resubmitted: array $array_job (task $tasks), merge $merge_job (afterok)"
finished "pool_exhaustion rerun" "$out"
grep -q "continuing the interrupted run" "$out/slurm/sweep_${array_job}_2.out" ||
  fail "the rerun task did not continue its run: $(cat "$out/slurm/sweep_${array_job}_2.out")"
pool_verdict "pool_exhaustion after --rerun"
echo PASS
