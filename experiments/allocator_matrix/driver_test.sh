#!/usr/bin/env bash
# The allocator_matrix driver end to end: a quick filtered run through all four per-malloc
# binaries, the merged CSV against the schema, bad input, a second run on a busy --out, Ctrl-C,
# a benchmark binary that crashes, and a run in shards merged back together.
set -u
driver="$1"
merge="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
small=(--quick --repetitions=1 --threads=1 --filter='^(insert_seq|find_hit)/[^/]+/keys:1000/')

check_quick_run() {
  local out="$tmp/matrix"
  local start=$SECONDS
  "$driver" "${small[@]}" --out="$out" 2>"$tmp/quick.stderr" >/dev/null ||
    { fail "driver exited $?: $(tail -3 "$tmp/quick.stderr")"; return; }
  echo "quick filtered run took $((SECONDS - start)) s"
  for m in glibc mimalloc jemalloc tcmalloc; do
    local f="$out/matrix_$m.json"
    [[ -s "$f" ]] || fail "$f missing"
    grep -q '"benchmarks"' "$f" || fail "$f has no benchmarks array"
    grep -q "\"process_malloc\": \"$m\"" "$f" || fail "$f context lacks process_malloc $m"
    grep -q '"run_type": "iteration"' "$f" || fail "$f lacks per-repetition entries"
  done
  local csv="$out/allocator_matrix.csv"
  [[ -s "$csv" ]] || { fail "$csv missing"; return; }
  head -1 "$csv" | grep -q '^schema_version,process_malloc,workload,policy,n,threads,repetitions,ns_per_op,' ||
    fail "CSV header is '$(head -1 "$csv")'"
  for m in glibc mimalloc jemalloc tcmalloc; do
    for w in insert_seq find_hit; do
      for p in bump_pool slot_recycler malloc mimalloc jemalloc jemalloc_arena tcmalloc pmr_pool \
               std_unordered_map; do
        grep -qE "^[0-9]+,$m,$w,$p,1000,1,1,[0-9.e+]+," "$csv" || fail "no timed row for $m $w $p"
      done
    done
  done
  # The error column found by its name (schema.json defines the order).
  local errors
  errors=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "error") c = i; next}
                    c && $c != ""' "$csv")
  [[ -z "$errors" ]] || fail "rows with errors: $(head -3 <<<"$errors")"
  grep -q '"complete": true' "$out/context.json" || fail "context.json not complete"
  grep -q '"cpu_scaling_enabled"' "$out/context.json" || fail "context.json lacks cpu_scaling_enabled"
  grep -q '"git_commit"' "$out/context.json" || fail "context.json lacks the run metadata"
  grep -q 'binaries left after this' "$tmp/quick.stderr" && fail "old progress wording"
  grep -q -- '~-' "$tmp/quick.stderr" && fail "a negative estimate was printed"
  find "$out" -name '*.tmp*' | grep -q . && fail "temporary files left"
}

check_bad_input() {
  for bad in --no_such_flag --threads=0 --mallocs=glibc,ptmalloc --repetitions=x '--filter=(' \
             "--out=/proc/nonexistent/dir" --min_time=nan --min_time=inf foo --cpus=x \
             --cpus=99999 --cpus=0,0 --warmup=-3; do
    local msg status
    msg=$("$driver" "$bad" 2>&1 >/dev/null); status=$?
    [[ $status == 2 ]] || fail "$bad exited $status, expected 2 ($msg)"
    local name="${bad#--}"; name="${name%%=*}"
    [[ "$msg" == *"$name"* ]] || fail "$bad: message does not name '$name': $msg"
    [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$bad: message is not one line: $msg"
  done
}

check_pinned_interleaved_run() {
  # More threads than pinned CPUs would measure contention, not the allocators: refused.
  # The first CPU this test may run on (a CI runner's cpuset need not include CPU 0).
  local cpu
  cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))' 2>/dev/null ||
        taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')
  local msg status
  msg=$("$driver" --cpus="$cpu" --threads=2 2>&1 >/dev/null); status=$?
  [[ $status == 2 && "$msg" == *cpus*threads* ]] || fail "--cpus=$cpu --threads=2: exit $status, '$msg'"
  # Pinned, interleaved, with a warm-up, and enough repetitions for a 95% interval of the median.
  local out="$tmp/pinned"
  "$driver" --quick --repetitions=6 --threads=1 --mallocs=glibc --cpus="$cpu" --warmup=0.001 \
    --filter='^insert_seq/(malloc|bump_pool)/keys:1000/' --out="$out" 2>"$tmp/pinned.stderr" \
    >/dev/null || { fail "pinned run exited $?: $(tail -3 "$tmp/pinned.stderr")"; return; }
  grep -q "pinned to CPU(s) $cpu" "$tmp/pinned.stderr" || fail "no pinning announced: $(head -3 "$tmp/pinned.stderr")"
  grep -q "\"cpus\": \"$cpu\"" "$out/context.json" || fail "context.json does not record --cpus"
  grep -q '"benchmark_enable_random_interleaving"\|"interleave": true' "$out/context.json" ||
    fail "context.json does not record the interleaving"
  # Every row: low <= median <= high, read by column name.
  awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) col[$i] = i; next}
           {m = $col["ns_per_op"]; lo = $col["ns_per_op_ci_low"]; hi = $col["ns_per_op_ci_high"]
            if (lo == "" || hi == "" || lo + 0 > m + 0 || m + 0 > hi + 0) {print; bad = 1}}
           END {exit bad}' "$out/allocator_matrix.csv" >"$tmp/pinned.bad" ||
    fail "rows without a sound interval: $(head -2 "$tmp/pinned.bad")"
  [[ $(grep -c ',insert_seq,' "$out/allocator_matrix.csv") == 2 ]] || fail "expected 2 rows"
}

# Waits until the driver has started a benchmark binary; prints its pid.
child_of() {
  local child=""
  for _ in $(seq 1 200); do
    # "[1/" first: it is printed after the listing runs have been reaped, so the only child from
    # then on is the benchmark binary (looking for a child first could find a listing run that
    # ends before the line appears).
    if grep -q '^\[1/' "$2" 2>/dev/null; then
      child=$(pgrep -P "$1" | head -1)
      [[ -n "$child" ]] && break
    fi
    sleep 0.05
  done
  echo "$child"
}

check_busy_out_and_interrupt() {
  local out="$tmp/busy"
  "$driver" --quick --repetitions=3 --threads=1 --mallocs=glibc --out="$out" >/dev/null 2>"$tmp/first" &
  local first=$!
  local child; child=$(child_of "$first" "$tmp/first")
  [[ -n "$child" ]] || { fail "the first driver started no benchmark binary"; kill "$first"; return; }
  local msg status
  msg=$("$driver" "${small[@]}" --out="$out" 2>&1 >/dev/null); status=$?
  [[ $status == 2 && "$msg" == *"in use by pid $first"* ]] ||
    fail "a second run on a busy --out: exit $status: $msg"
  # Ctrl-C: the driver stops its child, waits for it, cleans up, publishes nothing.
  kill -INT "$first"
  wait "$first"; status=$?
  [[ $status == 130 ]] || fail "interrupted driver exited $status, expected 130"
  kill -0 "$child" 2>/dev/null && { fail "the benchmark binary $child outlived the driver"; kill -9 "$child"; }
  find "$out" -name '*.tmp*' | grep -q . && fail "temporary files left after Ctrl-C"
  [[ -e "$out/allocator_matrix.csv" ]] && fail "an interrupted run was published"
  grep -q 'interrupted' "$tmp/first" || fail "no word about the interruption"
}

check_crash_is_named() {
  local out="$tmp/crash"
  "$driver" --quick --repetitions=3 --threads=1 --mallocs=glibc --out="$out" >/dev/null 2>"$tmp/crash.stderr" &
  local driver_pid=$!
  local child; child=$(child_of "$driver_pid" "$tmp/crash.stderr")
  [[ -n "$child" ]] || { fail "no benchmark binary to crash"; kill "$driver_pid"; return; }
  kill -SEGV "$child"
  wait "$driver_pid"; local status=$?
  [[ $status == 1 ]] || fail "a crashed benchmark binary: driver exited $status, expected 1"
  grep -q 'killed by SIGSEGV' "$tmp/crash.stderr" || fail "the crash is not named: $(tail -2 "$tmp/crash.stderr")"
}

check_kill_9_takes_the_child_along() {
  local out="$tmp/killed"
  "$driver" --quick --repetitions=3 --threads=1 --mallocs=glibc --out="$out" >/dev/null 2>"$tmp/killed.stderr" &
  local driver_pid=$!
  local child; child=$(child_of "$driver_pid" "$tmp/killed.stderr")
  [[ -n "$child" ]] || { fail "no benchmark binary started"; kill "$driver_pid"; return; }
  kill -9 "$driver_pid"; wait "$driver_pid" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$child" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$child" 2>/dev/null; then
    fail "the benchmark binary outlived its kill -9'd driver (it would measure on without the lock)"
    kill -9 "$child"
  fi
  # A filter matching nothing is a usage error that leaves nothing behind.
  local msg status
  msg=$("$driver" --quick --filter='^no_such_benchmark$' --out="$tmp/nothing" 2>&1 >/dev/null); status=$?
  [[ $status == 2 && "$msg" == *"matches no benchmark"* ]] || fail "empty filter: exit $status: $msg"
  [[ -e "$tmp/nothing/.lock" || -d "$tmp/nothing/allocator_matrix.runs" ]] && fail "an empty filter left files"
}

# Three shards (--shard=I/3) of two binaries' small grid merged: every benchmark once, in the
# listing's order, with the counts of one whole run; an incomplete set of shards is refused.
check_shards_merge() {
  local args=(--quick --repetitions=1 --threads=1 --mallocs=glibc,jemalloc
              --filter='^(insert_seq|find_hit)/(malloc|bump_pool|slot_recycler)/keys:1000/')
  local i status msg
  for i in 0 1 2; do
    "$driver" "${args[@]}" --shard="$i/3" --out="$tmp/shard$i" >/dev/null 2>"$tmp/shard$i.err" ||
      { fail "shard $i/3 exited $?: $(tail -2 "$tmp/shard$i.err")"; return; }
  done
  "$driver" "${args[@]}" --out="$tmp/whole" >/dev/null 2>"$tmp/whole.err" ||
    { fail "the whole run exited $?: $(tail -2 "$tmp/whole.err")"; return; }
  "$merge" --out="$tmp/merged" "$tmp/shard0" "$tmp/shard1" "$tmp/shard2" >"$tmp/merge.out" 2>&1 ||
    { fail "merge exited $?: $(tail -2 "$tmp/merge.out")"; return; }
  grep 'merge:' "$tmp/merge.out"
  /usr/bin/python3 - "$tmp/whole/allocator_matrix.csv" "$tmp/merged/allocator_matrix.csv" <<'PY' ||
import csv, sys
key = ("process_malloc", "workload", "policy", "n", "threads")
# The matrix times: its per-op counters are medians over the iterations each run chooses (a
# recycler's and a pool's per-op calls and bytes moved 1-8% between two --quick runs), so only the
# map's size per entry is compared, within 5%; repetitions and errors exactly.
counters = ("bytes_per_entry",)
whole, merged = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
by_key = {tuple(r[k] for k in key): r for r in merged}
if len(by_key) != len(merged) or sorted(by_key) != sorted(tuple(r[k] for k in key) for r in whole):
    sys.exit("the merged rows are not the whole run's")
for a in whole:
    b = by_key[tuple(a[k] for k in key)]
    name = "/".join(a[k] for k in key)
    for c in ("repetitions", "error"):
        if a[c] != b[c]:
            sys.exit("%s %s: %s in the whole run, %s merged" % (name, c, a[c], b[c]))
    for c in counters:
        x, y = (float(v) if v else None for v in (a[c], b[c]))
        if (x is None) != (y is None) or (x is not None and abs(x - y) > 0.05 * max(abs(x), abs(y))):
            sys.exit("%s %s: %s in the whole run, %s merged" % (name, c, a[c], b[c]))
print("merged == whole run: %d rows, bytes per entry within 5%%" % len(whole))
PY
    fail "the merged matrix differs from the whole run"
  # Every policy of one (binary, workload, N, threads) ran in one shard's process: their counters
  # share the process's hash seed, as in a whole run.
  /usr/bin/python3 - "$tmp"/shard{0,1,2}/allocator_matrix.current <<'PY' ||
import glob, os, sys
owner = {}
for shard in sys.argv[1:]:
    for names in glob.glob(os.path.join(shard, "*.names")):
        for name in open(names).read().split():
            parts = name.split("/")
            group = (os.path.basename(names), parts[0], *parts[2:])
            if owner.setdefault(group, shard) != shard:
                sys.exit("%s split between %s and %s" % (group, owner[group], shard))
if not owner:
    sys.exit("no shard wrote its names")
PY
    fail "a comparison (workload, N, threads) was split between shards"
  # The same shards as zips of their published files (as a sharded Bazel test's outputs.zip).
  for i in 0 1 2; do
    (cd "$tmp/shard$i/allocator_matrix.current" &&
       /usr/bin/python3 -m zipfile -c "$tmp/outputs$i.zip" ./*.json ./*.csv) ||
      fail "cannot zip shard $i"
  done
  "$merge" --out="$tmp/merged_zips" "$tmp"/outputs{0,1,2}.zip >"$tmp/merge_zips.out" 2>&1 ||
    fail "merging zips exited $?: $(tail -2 "$tmp/merge_zips.out")"
  cmp -s "$tmp/merged/allocator_matrix.csv" "$tmp/merged_zips/allocator_matrix.csv" ||
    fail "the zips' merge differs from the directories'"
  local bad
  for bad in "$tmp/no_such.zip" "$tmp/shard0/allocator_matrix.csv"; do
    [[ $bad == *.csv ]] && { cp "$bad" "$tmp/not_a.zip"; bad="$tmp/not_a.zip"; }
    msg=$("$merge" --out="$tmp/bad_zip" "$bad" 2>&1 >/dev/null); status=$?
    [[ $status == 2 && $(printf '%s\n' "$msg" | wc -l) == 1 ]] ||
      fail "merge of $bad: exit $status, expected 2 and one line: $msg"
  done
  msg=$("$merge" --out="$tmp/shard0" "$tmp/shard0" "$tmp/shard1" "$tmp/shard2" 2>&1 >/dev/null)
  status=$?
  [[ $status == 2 && "$msg" == *"is the shard directory"* ]] || fail "--out=a shard: exit $status: $msg"
  msg=$("$merge" --out="$tmp/partial" "$tmp/shard0" "$tmp/shard1" 2>&1 >/dev/null); status=$?
  [[ $status == 2 && "$msg" == *"shard 2/3 is missing"* ]] || fail "two of three shards: exit $status: $msg"
  msg=$("$driver" --quick --shard=3/3 --out="$tmp/bad_shard" 2>&1 >/dev/null); status=$?
  [[ $status == 2 && "$msg" == *--shard* ]] || fail "--shard=3/3: exit $status: $msg"
  msg=$("$driver" --quick --filter='^nothing$' --shard=0/2 --out="$tmp/nothing_shard" 2>&1 >/dev/null)
  status=$?
  [[ $status == 2 && "$msg" == *"matches no benchmark"* ]] || fail "empty filter, sharded: exit $status: $msg"
}

for check in check_shards_merge check_quick_run check_bad_input check_pinned_interleaved_run \
             check_busy_out_and_interrupt check_crash_is_named check_kill_9_takes_the_child_along; do
  before=$failures
  $check
  echo "$check: $([[ $failures -eq $before ]] && echo ok || echo FAILED)"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
