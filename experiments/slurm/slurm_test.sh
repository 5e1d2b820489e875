#!/usr/bin/env bash
# A real single-node Slurm cluster (munged, slurmctld, slurmd from Debian's packages) started in
# the test's temporary directory: a small sweep submitted with submit_sweep.sh as a 4-task job
# array plus an afterok merge job; the merged counts must equal a single process's run of the
# same grid, cell for cell. Every daemon is stopped on any exit.
set -u
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
merge="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
submit="$3"
source "$4"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*"; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons; a Bazel test's PATH lacks sbin

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
out="$tmp/sweep"
submitted=$("$submit" --shards=4 --out="$out" --binary="$binary" --merge="$merge" \
  --no-exclusive -- "${grid[@]}") || fail "submit_sweep.sh failed: $submitted"
echo "$submitted"
source "$out/jobs"  # array_job, merge_job, shards
echo "jobs submitted: array $array_job ($shards tasks), merge $merge_job (afterok)"
cluster_wait_job "$merge_job" 240 || fail "the merge job did not finish: $(squeue 2>&1)"
states=$(cluster_job_state "$array_job")
completed=$(grep -c '^COMPLETED$' <<<"$states")
echo "array tasks completed: $completed/$shards"
[[ $completed -eq $shards ]] || fail "array task states: $(tr '\n' ' ' <<<"$states")"
merge_state=$(cluster_job_state "$merge_job")
[[ $merge_state == COMPLETED ]] ||
  fail "merge job $merge_state: $(cat "$out"/slurm/merge_*.out 2>/dev/null)"

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
merged_csv="$out/merged/pool_exhaustion_sweep.csv"
single_csv="$tmp/single/pool_exhaustion_sweep.csv"
[[ -s $merged_csv ]] || fail "no merged result in $out/merged"
cells=$(counts "$single_csv" | wc -l)
if ! diff <(counts "$merged_csv") <(counts "$single_csv") >"$tmp/diff"; then
  fail "merged counts differ from the single process's: $(head -5 "$tmp/diff")"
fi
[[ $cells -gt 0 ]] || fail "the grid has no cells"
# Capacities too (the shards shared the capacity searches out).
caps() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(sorted((c["policy"], c["pool_slots"], c["largest_n"]) for c in d["capacities"]))' "$1"; }
merged_caps=$(caps "$out/merged/pool_exhaustion_sweep.json") &&
  single_caps=$(caps "$tmp/single/pool_exhaustion_sweep.json") || fail "cannot read the capacities"
[[ -n $merged_caps && "$merged_caps" == "$single_caps" ]] ||
  fail "merged capacities differ from the single process's: $merged_caps vs $single_caps"
echo "merge verdict: $cells cells, counts equal to the single-process run, cell for cell"

# A refused merge: one shard missing is named.
"$merge" --quiet --out="$tmp/bad" "$out/shard_0" "$out/shard_1" "$out/shard_3" \
  >/dev/null 2>"$tmp/bad.stderr" && fail "a merge without shard 2 succeeded"
grep -q "shard 2/4 is missing" "$tmp/bad.stderr" || fail "missing shard not named: $(cat "$tmp/bad.stderr")"
echo PASS
