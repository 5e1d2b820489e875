#!/usr/bin/env bash
# Submits a pool-exhaustion grid to Slurm as a job array, one task per shard (--shard=I/N), and a
# merge job that runs when every task has succeeded (--dependency=afterok). On a cluster:
#
#   bazel build //experiments/pool_exhaustion:pool_exhaustion_glibc //experiments:merge
#   experiments/slurm/submit_sweep.sh --shards=16 --out=/shared/sweep -- --sweep --seeds=10
#
# The shards write <out>/shard_<I>/, the merge <out>/merged/ (bazel run //analysis:report --
# --pool-results <out>/merged); Slurm's logs go to <out>/slurm/. <out> must be on a file system
# every node sees. Tasks that time cells ask for whole nodes (--exclusive; --no-exclusive when only
# the counts matter). The job ids are printed, and written to <out>/jobs.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 --shards=N --out=DIR [--binary=PATH] [--merge=PATH] [--partition=NAME]
          [--time=LIMIT] [--no-exclusive] [--dry-run] [-- POOL_EXHAUSTION_FLAGS...]
  --shards=N        array tasks (shards of the grid), 1..10000
  --out=DIR         absolute directory on a shared file system
  --binary=PATH     the pool_exhaustion binary (default: bazel-bin/experiments/pool_exhaustion/
                    pool_exhaustion_glibc of this workspace)
  --merge=PATH      the merge binary (default: bazel-bin/experiments/pool_exhaustion/merge)
  --partition, --time  passed to sbatch
  --no-exclusive    share nodes between tasks (counts only: times are then not comparable)
  --dry-run         print the two sbatch commands instead of running them
USAGE
}
die() { echo "submit_sweep: $*" >&2; exit 2; }

workspace=$(cd "$(dirname "$0")/../.." && pwd)
shards="" out="" binary="$workspace/bazel-bin/experiments/pool_exhaustion/pool_exhaustion_glibc"
merge="$workspace/bazel-bin/experiments/pool_exhaustion/merge" exclusive=(--exclusive)
extra=() dry=0 flags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards=*) shards="${1#*=}" ;;
    --out=*) out="${1#*=}" ;;
    --binary=*) binary="${1#*=}" ;;
    --merge=*) merge="${1#*=}" ;;
    --partition=*|--time=*) extra+=("$1") ;;
    --no-exclusive) exclusive=() ;;
    --dry-run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; flags=("$@"); break ;;
    *) die "unknown argument '$1' (pool_exhaustion's flags go after --; --help)" ;;
  esac
  shift
done
[[ "$shards" =~ ^[0-9]+$ ]] && shards=$((10#$shards))  # "010" is ten, not octal eight
[[ "$shards" =~ ^[0-9]+$ && $shards -ge 1 && $shards -le 10000 ]] ||
  die "--shards: expected a number of array tasks in 1..10000 (Slurm's MaxArraySize is 1001 unless the cluster raises it), got '$shards'"
[[ "$out" == /* ]] || die "--out: expected an absolute directory on a shared file system, got '$out'"
jobs_given=0
for f in "${flags[@]+"${flags[@]}"}"; do
  case "$f" in
    --shard|--shard=*|--out|--out=*) die "$f: the script sets it for each shard" ;;
    --resume|--resume=*) die "$f: tasks start from scratch; to finish one that failed, rerun its command from $out/slurm/task.sh with --resume" ;;
    --jobs|--jobs=*) jobs_given=1 ;;
  esac
done
# A task on a whole node times its cells one at a time (--jobs=1): parallel cells share memory
# bandwidth. Sharing nodes (--no-exclusive) is for counts only.
if [[ ${#exclusive[@]} -gt 0 && $jobs_given -eq 0 ]]; then flags+=(--jobs=1); fi
[[ -x "$binary" ]] || die "--binary: $binary is not an executable (bazel build //experiments/pool_exhaustion:pool_exhaustion_glibc)"
[[ -x "$merge" ]] || die "--merge: $merge is not an executable (bazel build //experiments:merge)"
if [[ $dry -eq 0 ]]; then
  command -v sbatch >/dev/null || die "sbatch not found (Debian package slurm-client)"
  mkdir -p "$out/slurm" || die "--out: cannot create $out/slurm"
fi

# Each task runs task.sh with the binary and its flags as arguments, which sbatch passes through
# exactly (no shell quoting: --wrap would hand a string to /bin/sh); the script adds the task's
# shard and directory. The merge job runs run.sh the same way.
shard_dirs=()
for ((i = 0; i < shards; i++)); do shard_dirs+=("$out/shard_$i"); done
task_script="#!/usr/bin/env bash
# Written by submit_sweep.sh: task \$SLURM_ARRAY_TASK_ID of $shards measures that shard.
exec \"\$@\" --shard=\"\$SLURM_ARRAY_TASK_ID/$shards\" --out=$(printf '%q' "$out")/shard_\"\$SLURM_ARRAY_TASK_ID\"
"
run_script='#!/usr/bin/env bash
exec "$@"
'
common=(--parsable --chdir="$workspace" "${extra[@]+"${extra[@]}"}")
array_args=("${common[@]}" --job-name=hamt-sweep --array="0-$((shards - 1))" "${exclusive[@]}"
            --output="$out/slurm/sweep_%A_%a.out" "$out/slurm/task.sh" "$binary" --quiet
            "${flags[@]+"${flags[@]}"}")
merge_args=("${common[@]}" --job-name=hamt-merge --kill-on-invalid-dep=yes
            --output="$out/slurm/merge_%j.out" "$out/slurm/run.sh" "$merge" --quiet
            --out="$out/merged" "${shard_dirs[@]}")
if [[ $dry -eq 1 ]]; then
  printf 'sbatch'; printf ' %q' "${array_args[@]}"; printf '\n'
  printf 'sbatch --dependency=afterok:ARRAY_JOB_ID'; printf ' %q' "${merge_args[@]}"; printf '\n'
  exit 0
fi
printf '%s' "$task_script" >"$out/slurm/task.sh" && printf '%s' "$run_script" >"$out/slurm/run.sh" &&
  chmod +x "$out/slurm/task.sh" "$out/slurm/run.sh" || die "--out: cannot write $out/slurm"
array_job=$(sbatch "${array_args[@]}") || die "sbatch of the array failed"
array_job=${array_job%%;*}
# A failed task would leave an afterok job pending for ever: --kill-on-invalid-dep cancels it.
merge_job=$(sbatch --dependency="afterok:$array_job" "${merge_args[@]}") ||
  { scancel "$array_job"; die "sbatch of the merge job failed (array $array_job cancelled)"; }
merge_job=${merge_job%%;*}
printf 'array_job=%s\nmerge_job=%s\nshards=%s\n' "$array_job" "$merge_job" "$shards" >"$out/jobs"
echo "submit_sweep: array job $array_job ($shards tasks) and merge job $merge_job (after every task succeeds); merged result: $out/merged"
