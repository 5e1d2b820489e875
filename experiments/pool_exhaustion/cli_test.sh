#!/usr/bin/env bash
# pool_exhaustion end to end, as an adversarial user drives it: bad input, --help, interrupts,
# --resume (changed flags, damaged files), two runs on one --out, kill -9 mid-write, a full disk,
# runs too big for the machine, and what the console prints. Every case is one `check_*` function;
# the test fails if any fails. See experiments/common/run_store.h for the file layout.
set -u
binary="$(pwd)/$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
skips=()  # checks that could not run here, with the reason
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Finding 4's map with 2 fallbacks x 2 page policies at each N (the default 4 x 3 costs minutes
# under ThreadSanitizer, and this test runs often).
tiny=(--quiet --n=1000,2000,3000 --pools=4096,1000000 --repetitions=1 --seeds=1
      --capacity_search_limit=200K --finding4_fallbacks=malloc,mimalloc --finding4_pages=lazy,huge)
published() { sha1sum "$1"/pool_exhaustion.csv "$1"/pool_exhaustion.json 2>/dev/null | awk '{print $1}' | tr '\n' ' '; }
counts() {  # the CSV's count columns, by name
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { print $col["role"], $col["policy"], $col["n"], $col["pool_slots"], $col["allocations"],
            $col["frees"], $col["bytes_allocated"], $col["fallback_allocations"],
            $col["slots_demanded"], $col["high_water_slots"], $col["live_bytes"],
            $col["peak_live_bytes"], $col["reused_allocations"] }' "$1"
}
run_dir() { ls -d "$1"/pool_exhaustion.runs/*/ 2>/dev/null | sort | tail -1; }

expect_usage_error() {  # expect_usage_error NAME ARGS...: one line naming NAME, exit 2, no file
  local what="$1"; shift
  local out="$tmp/bad.$RANDOM"
  "$binary" --quiet --out="$out" "$@" >/dev/null 2>"$tmp/stderr"
  local status=$?
  if [[ $status -ne 2 ]]; then
    fail "($what) exit status $status, expected 2; stderr: $(head -c 300 "$tmp/stderr")"
  elif [[ $(wc -l <"$tmp/stderr") -ne 1 ]] || ! grep -q -- "$what" "$tmp/stderr"; then
    fail "($what) expected one line naming '$what', got: $(head -c 300 "$tmp/stderr")"
  elif [[ $(wc -c <"$tmp/stderr") -gt 400 ]]; then
    fail "($what) the message is $(wc -c <"$tmp/stderr") characters long"
  fi
  [[ -e "$out/pool_exhaustion.csv" || -n "$(run_dir "$out")" ]] && fail "($what) a result was written"
}

check_bad_input() {
  expect_usage_error "--n" --n=abc
  expect_usage_error "--n" --n=-5
  expect_usage_error "--n" --n=0
  expect_usage_error "--n" --n=1000,
  expect_usage_error "--n" --n=100000000000
  expect_usage_error "--n" --n="$(printf '1%.0s' {1..5000})"   # quoted shortened
  expect_usage_error "--pools" --pools=lots
  expect_usage_error "--pools" --pools=17592186044416
  expect_usage_error "--policies" --policies=arena
  expect_usage_error "--shard" --shard=4/4
  expect_usage_error "--shard" --shard=1
  expect_usage_error "--finding4_pages" --finding4_pages=giant
  expect_usage_error "--finding4_fallbacks" --finding4_fallbacks=malloc,nope
  expect_usage_error "--repetitions" --repetitions=0
  expect_usage_error "--headroom" --headroom=-1
  expect_usage_error "--headroom" --headroom=nan
  expect_usage_error "--headroom" --headroom=inf
  expect_usage_error "--bogus" --bogus=1
  expect_usage_error "--out" --n=1000 --out=/proc/version/x
  expect_usage_error "foo" foo                                   # a stray word
  expect_usage_error "--flagfile" --flagfile=/dev/null           # every flag on the command line
  expect_usage_error "--out" --out="/proc/$(printf 'x%.0s' {1..5000})"
  expect_usage_error "--resume" --resume                         # nothing to resume
}

check_help() {
  "$binary" --help >"$tmp/help" 2>&1; local status=$?
  [[ $status -eq 0 ]] || fail "--help exited $status"
  for other in --helpfull --helpshort --helppackage --helpon=x --helpmatch=x --version; do
    "$binary" "$other" >"$tmp/help2" 2>&1 || fail "$other exited $?"
    cmp -s "$tmp/help" "$tmp/help2" || fail "$other does not print the same help"
  done
  for flag in n pools policies repetitions resume sweep wait_for_lock out; do
    grep -q -- "--$flag " "$tmp/help" || fail "--help does not list --$flag"
  done
}

check_small_runs_and_layout() {
  for run in a b; do
    "$binary" "${tiny[@]}" --out="$tmp/$run" >"$tmp/$run.stdout" 2>"$tmp/$run.stderr" ||
      fail "small run $run failed: $(cat "$tmp/$run.stderr")"
  done
  local a="$tmp/a"
  [[ -L "$a/pool_exhaustion.csv" && -L "$a/pool_exhaustion.current" ]] || fail "no published links"
  head -1 "$a/pool_exhaustion.csv" | grep -q '^schema_version,role,policy,fallback,n,pool_slots' ||
    fail "CSV header: $(head -1 "$a/pool_exhaustion.csv")"
  local grid
  grid=$(grep -c ',grid,' "$a/pool_exhaustion.csv")
  [[ $grid -eq 15 ]] || fail "expected 15 grid rows, got $grid"
  grep -q ',verification,' "$a/pool_exhaustion.csv" || fail "no verification row"
  grep -q '"complete": true' "$a/pool_exhaustion.json" || fail "JSON not complete"
  grep -q '"n": 1000,' "$a/pool_exhaustion.json" || fail "integers are not JSON integers"
  grep -q 'Findings' "$tmp/a.stdout" || fail "no findings printed"
  # Counts (not times) are identical between runs.
  diff <(counts "$a/pool_exhaustion.csv") <(counts "$tmp/b/pool_exhaustion.csv") >/dev/null ||
    fail "counts differ between two runs"
  find "$a" -name '*.tmp.*' | grep -q . && fail "temporary file left behind"
}

check_finding4_map() {
  local a="$tmp/a"
  [[ -e "$a/pool_exhaustion.json" ]] || "$binary" "${tiny[@]}" --out="$a" >"$a.stdout" 2>/dev/null ||
    { fail "the small run failed"; return; }
  # tiny: at each of its 3 Ns, 2 fallbacks x 2 page policies, each an exhausted and a sized cell.
  local rows
  rows=$(grep -c ',finding4_map,' "$a/pool_exhaustion.csv")
  [[ $rows -eq 24 ]] || fail "expected 24 finding4_map rows, got $rows"
  grep -q ',finding4_map,bump_pool,mimalloc,3000,1000000,false,true,0,' "$a/pool_exhaustion.csv" ||
    fail "no mimalloc huge-page row for the sized pool at N=3000"
  local records
  records=$(grep -c '"insert_ratio_max":' "$a/pool_exhaustion.json")
  [[ $records -eq 12 ]] || fail "expected 12 finding4_map records, got $records"
  [[ $(grep -c '"grid": true' "$a/pool_exhaustion.json") -eq 3 ]] ||
    fail "expected the grid's configuration once per N"
  grep -q '^Finding 4 by fallback and page policy' "$a.stdout" || fail "no finding-4 table printed"
  grep -q '"summary": ".*Of 4 configurations, inserts slow down in' "$a/pool_exhaustion.json" ||
    fail "finding 4 names no configurations"
}

check_readable_output() {
  # Findings are wrapped to 100 columns off a terminal; one line per cell.
  local long
  long=$(sed -n '/^Findings/,/^Sizing/p' "$tmp/a.stdout" | awk 'length > 100' | head -1)
  [[ -z "$long" ]] || fail "a findings line is longer than 100 columns: ${long:0:120}..."
  grep -q 'Fallbacks remain' "$tmp/a.stdout" && fail "'Fallbacks remain' is printed"
  grep -E '^\s+- N=' "$tmp/a.stdout" | awk 'length > 100' | grep -q . && fail "a cell line is too long"
  # --pools=0: every allocation falls back; utilization is not a number, so it is empty, not inf.
  "$binary" --quiet --n=1000 --pools=0 --policies=bump_pool --repetitions=1 \
    --capacity_search_limit=10K --out="$tmp/zero" >/dev/null 2>"$tmp/zero.stderr" ||
    fail "--pools=0 failed: $(cat "$tmp/zero.stderr")"
  grep -qiE 'inf|nan' "$tmp/zero/pool_exhaustion.csv" && fail "--pools=0 wrote inf or nan"
  grep -q '"utilization_pct": null' "$tmp/zero/pool_exhaustion.json" || fail "--pools=0: utilization not null"
}

check_duplicate_values() {
  "$binary" --quiet --n=1000,1000 --policies=malloc,malloc --repetitions=1 --out="$tmp/dup" \
    >/dev/null 2>"$tmp/dup.stderr" || fail "duplicate values run failed: $(cat "$tmp/dup.stderr")"
  local rows
  rows=$(grep -c ',grid,' "$tmp/dup/pool_exhaustion.csv")
  [[ $rows -eq 1 ]] || fail "--n=1000,1000 --policies=malloc,malloc measured $rows cells"
  grep -q -- '--n: 1000 given twice' "$tmp/dup.stderr" || fail "no note about the repeated --n"
}

interrupted_run() {  # interrupted_run DIR ARGS...: starts a run, SIGINTs it after 2 cells
  local dir="$1"; shift
  "$binary" "$@" --out="$dir" >/dev/null 2>"$dir.stderr" &
  local pid=$!
  for _ in $(seq 1 400); do grep -q '^\[2/' "$dir.stderr" 2>/dev/null && break; sleep 0.05; done
  kill -INT "$pid"; wait "$pid"; echo $?
}

resume_args=(--n=100K,110K,120K,130K,140K,150K --pools=4096 --policies=bump_pool --repetitions=2
             --seeds=1 --capacity_search_limit=100K)

check_interrupt_and_resume() {
  local dir="$tmp/interrupted"
  local status
  status=$(interrupted_run "$dir" "${resume_args[@]}")
  [[ $status -eq 130 ]] || { fail "interrupted run exited $status, expected 130"; return; }
  [[ -e "$dir/pool_exhaustion.csv" ]] && fail "an interrupted run was published"
  local rd; rd=$(run_dir "$dir")
  local kept=$(($(wc -l <"$rd/pool_exhaustion.csv") - 1))
  [[ $kept -ge 2 && $kept -lt 6 ]] || fail "interrupted run kept $kept rows"
  grep -q -- '--resume' "$dir.stderr" || fail "no hint to resume"
  "$binary" --quiet --resume "${resume_args[@]}" --out="$dir" >/dev/null 2>"$dir.resume" ||
    fail "--resume failed: $(cat "$dir.resume")"
  [[ $(grep -c ',grid,' "$dir/pool_exhaustion.csv") -eq 6 ]] || fail "resumed run lacks rows"
  grep -q '"sessions": 2' "$dir/pool_exhaustion.json" || fail "sessions not accumulated"
  local total
  total=$(grep -o '"duration_seconds": [0-9.e+-]*' "$dir/pool_exhaustion.json" | awk '{print $2}')
  awk -v t="$total" 'BEGIN { exit !(t > 0.2) }' || fail "duration_seconds $total covers one session only?"
}

# Resume must refuse, naming the problem, and leave every file as it was.
expect_resume_refused() {  # expect_resume_refused DIR WHAT ARGS...
  local dir="$1" what="$2"; shift 2
  local before after
  before=$(find "$dir" -type f -exec sha1sum {} + | sort)
  "$binary" --quiet --resume "$@" --out="$dir" >/dev/null 2>"$tmp/refused"
  local status=$?
  after=$(find "$dir" -type f ! -name .lock -exec sha1sum {} + | sort)
  before=$(printf '%s\n' "$before" | grep -v '/\.lock$')
  [[ $status -eq 2 ]] || fail "resume with $what exited $status, expected 2: $(cat "$tmp/refused")"
  grep -q -- "$what" "$tmp/refused" || fail "resume refusal does not name '$what': $(cat "$tmp/refused")"
  [[ "$before" == "$after" ]] || fail "resume with $what changed files"
}

check_resume_refuses_other_settings() {
  local dir="$tmp/changed"
  interrupted_run "$dir" "${resume_args[@]}" >/dev/null
  expect_resume_refused "$dir" "--n" --n=100K --pools=4096 --policies=bump_pool --repetitions=2 --seeds=1 --capacity_search_limit=100K
  expect_resume_refused "$dir" "--seeds" "${resume_args[@]}" --seeds=2
  expect_resume_refused "$dir" "--fallback" "${resume_args[@]}" --fallback=mimalloc
  expect_resume_refused "$dir" "--repetitions" "${resume_args[@]}" --repetitions=3
  expect_resume_refused "$dir" "--prefault" "${resume_args[@]}" --prefault
  expect_resume_refused "$dir" "--finding4_pages" "${resume_args[@]}" --finding4_pages=lazy
  expect_resume_refused "$dir" "--pools" "${resume_args[@]}" --pools=8192
}

check_resume_refuses_damage() {
  local dir="$tmp/damaged"
  interrupted_run "$dir" "${resume_args[@]}" >/dev/null
  local rd; rd=$(run_dir "$dir")
  cp -a "$rd" "$tmp/damaged.orig"
  # The last number cut off (no final newline).
  head -c -4 "$tmp/damaged.orig/pool_exhaustion.csv" >"$rd/pool_exhaustion.csv"
  expect_resume_refused "$dir" "no newline" "${resume_args[@]}"
  # A duplicated row.
  cp "$tmp/damaged.orig/pool_exhaustion.csv" "$rd/pool_exhaustion.csv"
  tail -1 "$rd/pool_exhaustion.csv" >>"$rd/pool_exhaustion.csv"
  expect_resume_refused "$dir" "duplicate of line" "${resume_args[@]}"
  # A truncated JSON state.
  cp "$tmp/damaged.orig/pool_exhaustion.csv" "$rd/pool_exhaustion.csv"
  head -c 2000 "$tmp/damaged.orig/pool_exhaustion.json" >"$rd/pool_exhaustion.json"
  expect_resume_refused "$dir" "invalid JSON" "${resume_args[@]}"
  # A row whose number was edited into something else.
  cp "$tmp/damaged.orig/pool_exhaustion.json" "$rd/pool_exhaustion.json"
  sed -i '2s/,grid,bump_pool,malloc,100000,/,grid,bump_pool,malloc,10x000,/' "$rd/pool_exhaustion.csv"
  expect_resume_refused "$dir" "line 2" "${resume_args[@]}"
}

check_concurrent_runs() {
  local dir="$tmp/shared"
  "$binary" "${resume_args[@]}" --quiet --out="$dir" >/dev/null 2>&1 &
  local first=$!
  sleep 0.3
  "$binary" --quiet --n=1000 --policies=malloc --out="$dir" >/dev/null 2>"$tmp/second"
  local status=$?
  [[ $status -eq 2 ]] || fail "a second run on a busy --out exited $status, expected 2"
  grep -q "in use by pid $first" "$tmp/second" || fail "the refusal does not name pid $first: $(cat "$tmp/second")"
  # With --wait_for_lock it waits, then runs; meanwhile a reader never sees a mixed pair.
  "$binary" --quiet --wait_for_lock --n=1000 --pools=4096 --policies=bump_pool --repetitions=1 \
    --seeds=1 --capacity_search_limit=10K --out="$dir" >/dev/null 2>"$tmp/waited" &
  local waiter=$!
  local mixed=0 samples=0
  while kill -0 "$waiter" 2>/dev/null; do
    local current
    current=$(readlink -f "$dir/pool_exhaustion.current" 2>/dev/null) || { sleep 0.02; continue; }
    [[ -n "$current" ]] || continue
    local csv_rows json_rows
    csv_rows=$(grep -c ',grid,\|,verification,\|,finding4_map,' "$current/pool_exhaustion.csv" 2>/dev/null)
    json_rows=$(grep -c '"role":' "$current/pool_exhaustion.json" 2>/dev/null)
    [[ -n "$csv_rows" && -n "$json_rows" ]] && { samples=$((samples + 1)); [[ $csv_rows -eq $json_rows ]] || mixed=$((mixed + 1)); }
    sleep 0.02
  done
  wait "$first" || fail "the first run failed"
  wait "$waiter" || fail "the --wait_for_lock run failed: $(cat "$tmp/waited")"
  grep -q "waiting for pid" "$tmp/waited" || fail "--wait_for_lock said nothing about waiting"
  [[ $mixed -eq 0 ]] || fail "$mixed of $samples samples saw a CSV and a JSON from different runs"
  [[ $(grep -c ',grid,' "$dir/pool_exhaustion.csv") -eq 1 ]] || fail "the second run's result is not published"
}

check_kill_9_mid_write() {
  local dir="$tmp/killed"
  local many=(--quiet --n=10K,12K,14K,16K,18K,20K --pools=64,512 --repetitions=1 --seeds=1
              --capacity_search_limit=10K)
  local start_ns; start_ns=$(date +%s%N)
  "$binary" "${many[@]}" --out="$dir" >/dev/null 2>&1 || fail "first run failed"
  # Kills land at fractions of one whole run, so the test means the same on a fast plain build and
  # a slow sanitized one.
  local whole_ms=$((($(date +%s%N) - start_ns) / 1000000))
  local good; good=$(published "$dir")
  # Killed at different moments: while measuring, between a file's write and its rename, ...
  local first=1 landed=0
  for percent in 30 10 15 20 25 30 35; do
    local resume=(--resume)
    [[ $first == 1 ]] && resume=()
    first=0
    "$binary" "${many[@]}" "${resume[@]}" --out="$dir" >/dev/null 2>&1 &
    local pid=$!
    local delay; delay=$(printf '%d.%03d' $((whole_ms * percent / 100000)) $((whole_ms * percent / 100 % 1000)))
    sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    local status=$?
    if [[ $status -eq 0 || ( $status -eq 137 && -e "$(run_dir "$dir").complete" ) ]]; then
      # The run published before the kill (it may have died between publishing and exiting):
      # its complete pair is the new good one, and there is nothing left to kill mid-run.
      good=$(published "$dir")
      [[ $status -eq 0 ]] || landed=1
      status=0
      break
    fi
    [[ $status -eq 137 ]] || { fail "a run to be killed exited $status by itself"; break; }
    landed=1
    [[ "$(published "$dir")" == "$good" ]] || fail "kill -9 after $delay s changed the published pair"
  done
  [[ $landed == 1 ]] || fail "no kill landed mid-run (a whole run took $whole_ms ms)"
  # The next start cleans up, and --resume finishes what was killed.
  local incomplete
  incomplete=$(for d in "$dir"/pool_exhaustion.runs/*/; do [[ -e $d.complete ]] || echo "$d"; done)
  if [[ $status -ne 0 ]]; then
    [[ -n "$incomplete" ]] || fail "the killed runs left no incomplete run to resume"
    "$binary" "${many[@]}" --resume --out="$dir" >/dev/null 2>"$tmp/killed.stderr" ||
      fail "could not finish after kill -9: $(cat "$tmp/killed.stderr")"
  fi
  find "$dir" -name '*.tmp.*' | grep -q . && fail "temporary files left after kill -9 and a new start"
  local csv_rows json_rows
  csv_rows=$(($(wc -l <"$dir/pool_exhaustion.csv") - 1))
  json_rows=$(grep -c '"role":' "$dir/pool_exhaustion.json")
  [[ $csv_rows -eq $json_rows ]] || fail "after kill -9: CSV has $csv_rows rows, JSON $json_rows"
  [[ -n "$good" ]] || fail "the first run published nothing"
}

full_disk_case() {  # full_disk_case DIR: a good run, then one that cannot be written
  local dir="$1"
  "$binary" --quiet --n=1000 --pools=4096 --policies=bump_pool --repetitions=1 \
    --capacity_search_limit=10K --out="$dir" >/dev/null 2>"$tmp/disk.first" ||
    { fail "the first run on the small disk failed: $(cat "$tmp/disk.first")"; return; }
  local good; good=$(published "$dir")
  (trap '' XFSZ; [[ -n "${2:-}" ]] && ulimit -f "$2"
   exec "$binary" --quiet --n=1000,2000,3000,4000,5000,6000,7000,8000 --pools=4096,8192,16384 \
     --repetitions=9 --capacity_search_limit=10K --out="$dir") >/dev/null 2>"$tmp/disk.second"
  local status=$?
  [[ $status -eq 1 ]] || fail "a run on a full disk exited $status, expected 1: $(cat "$tmp/disk.second")"
  grep -qE 'No space left|File too large' "$tmp/disk.second" || fail "no clear message: $(cat "$tmp/disk.second")"
  [[ $(wc -l <"$tmp/disk.second") -le 2 ]] || fail "the failure message is $(wc -l <"$tmp/disk.second") lines"
  [[ "$(published "$dir")" == "$good" ]] || fail "the last good result was replaced by a partial one"
}

check_file_too_large() {
  # A file-size limit (ulimit -f) fails writes the way a full disk does, and needs no privilege.
  # ThreadSanitizer's runtime itself dies (SIGBUS inside libtsan) once a write passes the limit,
  # before the program can report it: the check means nothing there (it runs plain and in ASan).
  if ldd "$binary" 2>/dev/null | grep -q libtsan; then
    echo "check_file_too_large: not applicable under ThreadSanitizer (its runtime dies with SIGBUS under ulimit -f)"
    return
  fi
  full_disk_case "$tmp/fsize" 24
}

check_full_disk() {
  # A real full disk: a 64 KB tmpfs, where this test may mount one (root).
  mkdir -p "$tmp/tmpfs"
  if mount -t tmpfs -o size=64k tmpfs "$tmp/tmpfs" 2>"$tmp/mount.err"; then
    # In a chroot the mount lives in the host's namespace: never leave it behind.
    trap 'umount -l "$tmp/tmpfs" 2>/dev/null' EXIT
    full_disk_case "$tmp/tmpfs/out"
    umount "$tmp/tmpfs" && trap - EXIT
  else
    skips+=("full disk on a 64 KB tmpfs: cannot mount one here ($(head -1 "$tmp/mount.err"))")
  fi
}

check_big_runs_refused_up_front() {
  # A sanitizer reserves terabytes of shadow address space at start-up, so under `ulimit -v` a
  # sanitized binary cannot start at all: the check means nothing there (it runs in the plain suite).
  if ! (ulimit -v 4000000; exec "$binary" --help) >/dev/null 2>"$tmp/ulimit.err"; then
    echo "check_big_runs_refused_up_front: not applicable to this build ($(head -c 80 "$tmp/ulimit.err"))"
    return
  fi
  local start=$SECONDS
  (ulimit -v 2000000; exec "$binary" --quiet --n=1000,50M --out="$tmp/big") >/dev/null 2>"$tmp/big.stderr"
  local status=$?
  [[ $status -eq 2 ]] || fail "--n=1000,50M under ulimit -v 2GB exited $status: $(cat "$tmp/big.stderr")"
  grep -q -- '--n' "$tmp/big.stderr" && grep -q 'ulimit -v' "$tmp/big.stderr" ||
    fail "the refusal does not name --n and the limit: $(cat "$tmp/big.stderr")"
  [[ $((SECONDS - start)) -le 5 ]] || fail "the refusal took $((SECONDS - start)) s (measured first?)"
}

check_interrupt_in_phase_2() {
  # The capacity search of a large recycler pool takes seconds; Ctrl-C must stop it within one.
  local dir="$tmp/phase2"
  "$binary" --n=1000 --pools=16777216 --policies=slot_recycler --repetitions=1 \
    --capacity_search_limit=50M --out="$dir" >/dev/null 2>"$dir.stderr" &
  local pid=$!
  for _ in $(seq 1 400); do grep -q 'phase 2' "$dir.stderr" 2>/dev/null && break; sleep 0.05; done
  sleep 0.3
  local start; start=$(date +%s%N)
  kill -INT "$pid"; wait "$pid"; local status=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [[ $status -eq 130 ]] || fail "SIGINT in phase 2: exit $status, expected 130"
  [[ $ms -le 1000 ]] || fail "SIGINT in phase 2 took $ms ms"
}

# The checks to run: the test's further arguments, else all but the tmpfs one (its own target, so
# that where it cannot run it is counted as skipped, not passed).
checks=("${@:2}")
[[ ${#checks[@]} -gt 0 ]] || checks=(
  check_bad_input check_help check_small_runs_and_layout check_finding4_map check_readable_output
  check_duplicate_values check_interrupt_and_resume check_resume_refuses_other_settings
  check_resume_refuses_damage check_concurrent_runs check_kill_9_mid_write check_file_too_large
  check_big_runs_refused_up_front check_interrupt_in_phase_2)
for check in "${checks[@]}"; do
  before=$failures
  start=$SECONDS
  $check
  echo "$check: $([[ $failures -eq $before ]] && echo ok || echo FAILED) ($((SECONDS - start)) s)"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
if [[ ${#skips[@]} -gt 0 ]]; then
  # tools/test.sh counts a test whose log has this line as skipped, never as passed.
  echo "SKIPPED: ${skips[*]}"
  exit 0
fi
echo PASS
