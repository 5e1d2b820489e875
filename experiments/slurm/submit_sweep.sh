#!/usr/bin/env bash
# Submits a sharded grid (pool_exhaustion's --sweep, memory_timeline's, persistent_churn's, the
# allocator matrix's) to
# Slurm as a job array, one task per shard (--shard=I/N), and a merge job that runs when every task
# has succeeded (--dependency=afterok). On a cluster:
#
#   bazel build //experiments/pool_exhaustion:pool_exhaustion_glibc //experiments:merge
#   experiments/slurm/submit_sweep.sh --shards=16 --out=/shared/sweep -- --sweep --seeds=10
#   experiments/slurm/submit_sweep.sh --rerun --out=/shared/sweep   # the shards that failed, again
#
# The experiment and merge binaries (with their runfiles) are copied to <out>/bin/ at submission
# and the jobs run the copies: a rebuild while the jobs wait in the queue changes nothing they
# measure, and a --rerun measures with the same code as the first tasks. The shards write
# <out>/shard_<I>/, the merge <out>/merged/ (bazel run //analysis:report -- --pool-results
# <out>/merged); Slurm's logs go to <out>/slurm/. <out> must be on a file system every node sees.
# Tasks that time cells ask for whole nodes (--exclusive; --no-exclusive when only the counts
# matter). The job ids are printed, and written to <out>/jobs; the submission's arguments to
# <out>/submission, which --rerun reads.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 --shards=N --out=DIR [--binary=PATH] [--merge=PATH] [--partition=NAME]
          [--time=LIMIT] [--no-exclusive] [--dry-run] [-- EXPERIMENT_FLAGS...]
       $0 --rerun --out=DIR [--partition=NAME] [--time=LIMIT] [--dry-run]
  --shards=N        array tasks (shards of the grid), 1..10000
  --out=DIR         absolute directory on a shared file system, new for each submission
  --binary=PATH     the experiment binary: any that shards (pool_exhaustion_<malloc>,
                    memory_timeline_<malloc>, persistent_churn_<malloc>, allocator_matrix;
                    default: bazel-bin/
                    experiments/pool_exhaustion/pool_exhaustion_glibc of this workspace)
  --merge=PATH      the merge binary (default: bazel-bin/experiments/merge/merge)
  --partition, --time  passed to sbatch (with --rerun: instead of the submission's)
  --no-exclusive    share nodes between tasks (counts only: times are then not comparable)
  --dry-run         print the sbatch commands instead of copying the binaries and submitting
  --rerun           resubmit the shards of the submission in DIR that have no published result
                    (a task failed, timed out or was cancelled), as an array of just those task
                    ids, and a new merge job; with the submission's binaries and flags.
                    pool_exhaustion continues a shard's interrupted run (--resume), the others
                    measure the shard again. The submission's jobs must have left the queue.
USAGE
}
die() { echo "submit_sweep: $*" >&2; exit 2; }

# `bazel run //experiments/slurm:submit_sweep` runs a copy in the runfiles tree.
workspace=${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/../.." && pwd)}
shards="" out="" binary="$workspace/bazel-bin/experiments/pool_exhaustion/pool_exhaustion_glibc"
merge="$workspace/bazel-bin/experiments/merge/merge" exclusive=(--exclusive)
extra=() dry=0 flags=() rerun=0 submit_only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards=*|--binary=*|--merge=*|--no-exclusive|--) submit_only+=("${1%%=*}") ;;&
    --shards=*) shards="${1#*=}" ;;
    --out=*) out="${1#*=}" ;;
    --binary=*) binary="${1#*=}" ;;
    --merge=*) merge="${1#*=}" ;;
    --partition=*|--time=*) extra+=("$1") ;;
    --no-exclusive) exclusive=() ;;
    --dry-run) dry=1 ;;
    --rerun) rerun=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; flags=("$@"); break ;;
    *) die "unknown argument '$1' (the experiment's flags go after --; --help)" ;;
  esac
  shift
done
out=${out%/}
[[ "$out" == /* ]] || die "--out: expected an absolute directory on a shared file system, got '$out'"
bin="$out/bin"

# The scripts the jobs run. Each task runs task.sh with a mode, the binary and its flags as
# arguments, which sbatch passes through exactly (no shell quoting: --wrap would hand a string to
# /bin/sh); the script adds the task's shard and directory. The merge job runs run.sh the same way.
write_job_scripts() {
  local task_script run_script environment
  # The commit the tasks record (HAMT_GIT_COMMIT, see the copies below), in the scripts themselves:
  # a cluster that does not pass the submitter's environment on (SBATCH_EXPORT=NONE) keeps it, and
  # one the submitter's shell happened to hold is not passed on.
  if [[ -n ${commit:-} ]]; then
    environment="export HAMT_GIT_COMMIT=$(printf '%q' "$commit")"
  else
    environment="unset HAMT_GIT_COMMIT"
  fi
  task_script="#!/usr/bin/env bash
# Written by submit_sweep.sh: array task \$SLURM_ARRAY_TASK_ID of $shards measures that shard into
# $out/shard_<task>. usage: task.sh fresh|resume BINARY FLAGS...
# resume (a --rerun of pool_exhaustion): the shard's newest interrupted run, if it measured
# anything, is continued with --resume; else (and always for fresh) the shard starts from scratch.
set -u
$environment
mode=\$1; shift
dir=$(printf '%q' "$out")/shard_\$SLURM_ARRAY_TASK_ID resume=()
if [[ \$mode == resume ]]; then
  for runs in \"\$dir\"/*.runs; do  # <stem>.runs/<run id>/, as experiments/common/run_store.h
    [[ -d \$runs ]] || continue
    stem=\${runs##*/} stem=\${stem%.runs}
    for run in \$(cd \"\$runs\" && ls -1d [0-9]*T*Z-* 2>/dev/null | LC_ALL=C sort -r); do
      [[ -d \$runs/\$run && ! -e \$runs/\$run/.complete ]] || continue  # newest incomplete run
      [[ -e \$runs/\$run/\$stem.json ]] && resume=(--resume) &&
        echo \"task.sh: continuing the interrupted run \$runs/\$run (--resume)\" >&2
      break
    done
  done
fi
exec \"\$@\" \${resume[@]+\"\${resume[@]}\"} --shard=\"\$SLURM_ARRAY_TASK_ID/$shards\" --out=\"\$dir\"
"
  run_script="#!/usr/bin/env bash
$environment
exec \"\$@\"
"
  mkdir -p "$out/slurm" && printf '%s' "$task_script" >"$out/slurm/task.sh" &&
    printf '%s' "$run_script" >"$out/slurm/run.sh" &&
    chmod +x "$out/slurm/task.sh" "$out/slurm/run.sh" || die "--out: cannot write $out/slurm"
}

# A result is published when the run completed: <stem>.current (run_store.h) resolves.
published() {
  local link
  for link in "$1"/*.current; do [[ -e $link ]] && return 0; done
  return 1
}

# Non-zero when Slurm still has job $1 (pending, running, completing); exits on a Slurm error.
job_gone() {
  local answer
  answer=$(squeue -h -j "$1" -o %i 2>&1) || {
    [[ $answer == *"Invalid job id"* ]] && return 0  # finished and purged
    die "cannot ask Slurm about job $1: $answer"
  }
  [[ -z $answer ]]
}

# sbatch COMMAND...: the job id, or exit naming what failed.
submit() {
  local what=$1 id; shift
  id=$(sbatch "$@") || die "sbatch of $what failed"
  echo "${id%%;*}"
}

if [[ $rerun -eq 1 ]]; then
  ((${#submit_only[@]} == 0)) ||
    die "--rerun repeats the submission in $out: ${submit_only[*]} cannot be given with it"
  [[ -r "$out/jobs" ]] || die "--rerun: no submission in $out (no $out/jobs)"
  [[ -r "$out/submission" ]] ||
    die "--rerun: $out/submission is missing (submitted by an older submit_sweep.sh): submit again"
  rerun_extra=("${extra[@]+"${extra[@]}"}")
  array_job="" merge_job=""
  source "$out/jobs" && source "$out/submission" || die "--rerun: cannot read $out/jobs"
  ((${#rerun_extra[@]} == 0)) || extra=("${rerun_extra[@]}")
  if [[ $dry -eq 0 ]]; then
    command -v squeue >/dev/null || die "squeue not found (Debian package slurm-client)"
    for job in $array_job $merge_job; do
      job_gone "$job" || die "--rerun: job $job of the submission in $out is still queued or" \
        "running (squeue -j $job): wait for it to end, or scancel it, then --rerun"
    done
  fi
  for f in "$binary" "$merge"; do
    [[ -x $f ]] || die "--rerun: $f, the submission's copy of its binary, is missing"
  done
  missing=()
  for ((i = 0; i < shards; i++)); do published "$out/shard_$i" || missing+=("$i"); done
else
  [[ "$shards" =~ ^[0-9]+$ ]] && shards=$((10#$shards))  # "010" is ten, not octal eight
  [[ "$shards" =~ ^[0-9]+$ && $shards -ge 1 && $shards -le 10000 ]] ||
    die "--shards: expected a number of array tasks in 1..10000 (Slurm's MaxArraySize is 1001 unless the cluster raises it), got '$shards'"
  [[ -e "$out/jobs" ]] && die "--out: $out already holds a submission ($out/jobs): --rerun" \
    "resubmits its failed shards; a new submission needs a new directory"
  [[ -e "$bin" ]] && die "--out: $bin exists (left by a submission that failed?): remove it, or" \
    "choose a new directory"
  [[ -x "$binary" && -f "$binary" ]] ||
    die "--binary: $binary is not an executable (bazel build //experiments/pool_exhaustion:pool_exhaustion_glibc)"
  [[ -x "$merge" && -f "$merge" ]] || die "--merge: $merge is not an executable (bazel build //experiments:merge)"
  [[ $(basename "$binary") != "$(basename "$merge")" ]] ||
    die "--binary and --merge are both named $(basename "$merge")"
  # What the binary accepts, from its own --help (which exits non-zero).
  help=$("$binary" --help 2>&1)
  accepts() { grep -q -- "^ *--$1 " <<<"$help"; }
  accepts shard || die "--binary: $binary has no --shard flag: its grid does not shard"
  jobs_given=0
  for f in "${flags[@]+"${flags[@]}"}"; do
    case "$f" in
      --shard|--shard=*|--out|--out=*) die "$f: the script sets it for each shard" ;;
      --resume|--resume=*) die "$f: tasks start from scratch; --rerun continues the shards that failed" ;;
      --jobs|--jobs=*) jobs_given=1 ;;
    esac
  done
  # A task on a whole node times its cells one at a time (--jobs=1, where the experiment measures
  # cells in parallel: pool_exhaustion): parallel cells share memory bandwidth. Sharing nodes
  # (--no-exclusive) is for counts only.
  if [[ ${#exclusive[@]} -gt 0 && $jobs_given -eq 0 ]] && accepts jobs; then flags+=(--jobs=1); fi
  # Only an experiment that can continue an interrupted shard does so on --rerun.
  resume_mode=fresh
  accepts resume && resume_mode=resume
  # Progress lines only clutter a task's log (allocator_matrix has no --quiet: it prints per binary).
  quiet=()
  accepts quiet && quiet=(--quiet)
  reads_reference=0
  accepts reference && reads_reference=1
  source_binary=$binary source_merge=$merge
  # The jobs run copies, made below (the runfiles trees are a few tens of KB plus one more copy
  # of the binary; about 5 MB in all).
  binary="$bin/$(basename "$binary")" merge="$bin/$(basename "$merge")"
  missing=()
  for ((i = 0; i < shards; i++)); do missing+=("$i"); done
fi

shard_dirs=()
for ((i = 0; i < shards; i++)); do shard_dirs+=("$out/shard_$i"); done
common=(--parsable --chdir="$workspace" "${extra[@]+"${extra[@]}"}")
task_mode=fresh
if [[ $rerun -eq 0 ]]; then
  array_spec="0-$((shards - 1))"
else
  task_mode=$resume_mode
  array_spec=$(IFS=,; echo "${missing[*]}")
fi
# The study's figures from the copy made at submission, not from the workspace (--chdir), which may
# change while the jobs wait: for the merge, and for an experiment that reads them (pool_exhaustion).
# A submission made before the copy existed has none: the workspace's then.
reference=()
[[ $rerun -eq 1 && ! -d $bin/reference ]] || reference=(--reference="$bin/reference")
task_reference=()
[[ ${reads_reference:-0} -eq 0 ]] || task_reference=("${reference[@]+"${reference[@]}"}")
array_args=("${common[@]}" --job-name=hamt-sweep --array="$array_spec" "${exclusive[@]+"${exclusive[@]}"}"
            --output="$out/slurm/sweep_%A_%a.out" "$out/slurm/task.sh" "$task_mode" "$binary"
            "${quiet[@]+"${quiet[@]}"}" "${task_reference[@]+"${task_reference[@]}"}"
            "${flags[@]+"${flags[@]}"}")
# A failed task would leave an afterok job pending for ever: --kill-on-invalid-dep cancels it.
merge_args=("${common[@]}" --job-name=hamt-merge --kill-on-invalid-dep=yes
            --output="$out/slurm/merge_%j.out" "$out/slurm/run.sh" "$merge" --quiet
            "${reference[@]+"${reference[@]}"}" --out="$out/merged" "${shard_dirs[@]}")

if [[ $rerun -eq 1 && ${#missing[@]} -eq 0 ]]; then
  if published "$out/merged"; then
    echo "submit_sweep: nothing to resubmit: all $shards shards in $out and the merge have published results"
    exit 0
  fi
  echo "submit_sweep: all $shards shards have published results, the merge has none: resubmitting the merge job"
  if [[ $dry -eq 1 ]]; then printf 'sbatch'; printf ' %q' "${merge_args[@]}"; printf '\n'; exit 0; fi
  write_job_scripts
  merge_job=$(submit "the merge job" "${merge_args[@]}") || exit 2
  printf 'array_job=\nmerge_job=%s\nshards=%s\ntasks=\n' "$merge_job" "$shards" >"$out/jobs"
  echo "submit_sweep: merge job $merge_job; merged result: $out/merged"
  exit 0
fi

if [[ $dry -eq 1 ]]; then
  [[ $rerun -eq 0 ]] || echo "submit_sweep: would resubmit shards $array_spec of $shards (no published result)"
  printf 'sbatch'; printf ' %q' "${array_args[@]}"; printf '\n'
  printf 'sbatch --dependency=afterok:ARRAY_JOB_ID'; printf ' %q' "${merge_args[@]}"; printf '\n'
  exit 0
fi
command -v sbatch >/dev/null || die "sbatch not found (Debian package slurm-client)"
if [[ $rerun -eq 0 ]]; then
  mkdir -p "$bin" || die "--out: cannot create $bin"
  for f in "$source_binary" "$source_merge"; do  # -L: Bazel's outputs are symlinks
    cp -rL "$f" "$bin/" && { [[ ! -d $f.runfiles ]] || cp -rL "$f.runfiles" "$bin/"; } ||
      die "cannot copy $f (and its runfiles) to $bin"
  done
  # The merge binary's own runfiles when it has them (bazel-bin), else the workspace's.
  reference="$source_merge.runfiles/hamt_alloc/experiments/reference"
  [[ -d $reference ]] || reference="$workspace/experiments/reference"
  cp -rL "$reference" "$bin/reference" || die "cannot copy the study's figures ($reference) to $bin"
  # The commit the copies were built from, as far as the workspace tells now: every task records
  # it (HAMT_GIT_COMMIT, experiments/common/run_metadata.h), not the workspace's when it runs,
  # which an edit or a checkout while the jobs wait would change.
  commit=""
  if sha=$(git -C "$workspace" rev-parse HEAD 2>/dev/null); then
    commit=$sha
    [[ -z $(git -C "$workspace" status --porcelain --untracked-files=no 2>/dev/null) ]] ||
      commit+=-dirty
  fi
  # What --rerun repeats (bash declarations, sourced by it).
  { echo "# Written by submit_sweep.sh on $(date -u +%FT%TZ) from $source_binary and $source_merge."
    declare -p workspace shards binary merge exclusive extra flags resume_mode quiet commit \
      reads_reference; } >"$out/submission" ||
    die "--out: cannot write $out/submission"
fi
write_job_scripts
array_job=$(submit "the array" "${array_args[@]}") || exit 2
merge_job=$(sbatch --dependency="afterok:$array_job" "${merge_args[@]}") ||
  { scancel "$array_job"; die "sbatch of the merge job failed (array $array_job cancelled)"; }
merge_job=${merge_job%%;*}
printf 'array_job=%s\nmerge_job=%s\nshards=%s\ntasks=%s\n' "$array_job" "$merge_job" "$shards" \
  "$array_spec" >"$out/jobs"
echo "$(date -u +%FT%TZ) array_job=$array_job tasks=$array_spec merge_job=$merge_job" >>"$out/slurm/submissions"
if [[ $rerun -eq 1 ]]; then
  echo "submit_sweep: resubmitted shards $array_spec of $shards (no published result in" \
    "$(printf '%s, ' "${missing[@]/#/shard_}" | sed 's/, $//')) as array job $array_job" \
    "(${#missing[@]} task(s)$([[ $task_mode == resume ]] &&
    echo "; an interrupted run that measured anything is continued with --resume")) and merge" \
    "job $merge_job (after every task succeeds); merged result: $out/merged"
else
  echo "submit_sweep: array job $array_job ($shards tasks) and merge job $merge_job (after every" \
    "task succeeds); copies of the binaries in $bin ($(du -sh "$bin" | cut -f1)); merged result: $out/merged"
fi
