#!/usr/bin/env bash
# record and replay end to end (a small study build, every policy), and every way a trace can be
# bad: one line naming the byte offset, exit status 2, nothing published.
set -u
record="$1"
replay="$2"
heaptrack_recording="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

trace="$tmp/study.trace"
"$record" --workload=study_build --n=5000 --trace="$trace" >"$tmp/record.out" 2>"$tmp/record.err" ||
  fail "record failed: $(cat "$tmp/record.err")"
[[ -s "$trace" ]] || fail "no trace written"
grep -q 'bytes per event' "$tmp/record.out" || fail "record printed no summary: $(cat "$tmp/record.out")"
[[ $(head -c 8 "$trace" | od -An -tx1 | tr -d ' \n') == 894854524143450a ]] || fail "magic"

"$replay" "$trace" --repetitions=2 --out="$tmp/out" >"$tmp/replay.out" 2>"$tmp/replay.err" ||
  fail "replay failed: $(cat "$tmp/replay.err")"
csv="$tmp/out/replay.csv"
[[ -s "$csv" ]] || fail "no CSV"
head -1 "$csv" | grep -q '^schema_version,trace,workload,n,events,process_malloc,policy,' ||
  fail "CSV header: $(head -1 "$csv")"
for policy in null malloc bump_pool slot_recycler mimalloc jemalloc tcmalloc pmr_pool; do
  grep -q ",$policy," "$csv" || fail "no row for $policy"
done
grep -q '"complete": true' "$tmp/out/replay.json" || fail "JSON not complete"
grep -q '"workload": "study_build"' "$tmp/out/replay.json" || fail "JSON lacks the trace header"
grep -q 'lower bound on memory' "$tmp/replay.out" || fail "no table: $(cat "$tmp/replay.out")"
# A real program's traffic: the shipped heaptrack recording of sort, imported, then replayed.
ht_trace="$tmp/sort.trace"
"$record" --heaptrack="$heaptrack_recording" --trace="$ht_trace" >"$tmp/ht.out" 2>"$tmp/ht.err" ||
  fail "heaptrack import failed: $(cat "$tmp/ht.err")"
grep -q '293 events (222 allocations, 71 frees)' "$tmp/ht.out" || fail "import: $(cat "$tmp/ht.out")"
"$replay" "$ht_trace" --repetitions=1 --policies=malloc,bump_pool --out="$tmp/ht" \
  >"$tmp/ht_replay.out" 2>"$tmp/ht_replay.err" || fail "replay of the import: $(cat "$tmp/ht_replay.err")"
grep -q '"workload": "heaptrack"' "$tmp/ht/replay.json" || fail "imported trace header missing"
printf 'v 10400 3\n+ zz 1 a000\n' >"$tmp/bad.raw"
msg=$("$record" --heaptrack="$tmp/bad.raw" --trace="$tmp/bad_ht.trace" 2>&1 >/dev/null); status=$?
[[ $status == 2 && "$msg" == *"line 2: bad size 'zz'"* && $(printf '%s\n' "$msg" | wc -l) == 1 ]] ||
  fail "a bad heaptrack line: exit $status, $msg"
msg=$("$record" --heaptrack="$tmp/none.raw.zst" 2>&1 >/dev/null); status=$?
[[ $status == 2 ]] || fail "a missing heaptrack recording: exit $status, $msg"

# Peak live bytes is one value on every row.
column=$(head -1 "$csv" | tr ',' '\n' | grep -n '^peak_live_bytes$' | cut -d: -f1)
[[ -n "$column" && $(tail -n +2 "$csv" | cut -d, -f"$column" | sort -u | wc -l) == 1 ]] ||
  fail "peak live bytes differ (column ${column:-none})"
grep -q 'replay: null: ' "$tmp/replay.err" || fail "no progress on stderr"

# Ctrl-C (SIGINT to the replay alone) reaches the child replaying and stops the run: status 130,
# nothing published. Deterministic: SIGINT is sent once the replay says it is replaying malloc (its
# handler is installed by then), and the run (the null walk, then 1000 replays of malloc) is far
# longer than the time to get there; only a forwarded SIGINT stops the malloc child, and without
# it the replay would finish, publish and exit 0. set -m: the replay runs in its own process group
# with SIGINT at its default action (a non-interactive shell would start it with SIGINT ignored).
"$record" --n=50K --trace="$tmp/long.trace" >/dev/null 2>&1 || fail "record --n=50K failed"
set -m
"$replay" "$tmp/long.trace" --policies=malloc --repetitions=1000 --out="$tmp/interrupted" \
  >/dev/null 2>"$tmp/interrupted.err" &
pid=$!
set +m
until grep -q '^replay: malloc: ' "$tmp/interrupted.err"; do
  kill -0 "$pid" 2>/dev/null || break  # it ended before replaying malloc: reported below
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"; status=$?
[[ $status == 130 ]] || fail "interrupted replay exited $status, expected 130: $(cat "$tmp/interrupted.err")"
[[ ! -e "$tmp/interrupted/replay.csv" ]] || fail "an interrupted replay published results"
grep -q 'interrupted; the published results are unchanged' "$tmp/interrupted.err" ||
  fail "no interruption message: $(cat "$tmp/interrupted.err")"

# Bad traces: each must stop with one line naming the byte offset, and exit status 2.
expect_refusal() {  # name, expected text, file
  local msg status
  msg=$("$replay" "$3" --out="$tmp/bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "$1: exit status $status, expected 2 ($msg)"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$1: not one line: $msg"
  [[ $msg == *"$2"* ]] || fail "$1: expected '$2' in: $msg"
}
cp "$trace" "$tmp/magic.trace"; printf 'X' | dd of="$tmp/magic.trace" bs=1 seek=1 conv=notrunc 2>/dev/null
expect_refusal "bad magic" "byte 0: not a trace file" "$tmp/magic.trace"
cp "$trace" "$tmp/version.trace"; printf '\x07' | dd of="$tmp/version.trace" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_refusal "bad version" "byte 8: format version 7, this reader knows 1" "$tmp/version.trace"
head -c 20 "$trace" >"$tmp/header.trace"
expect_refusal "cut in the header" "byte 20: truncated" "$tmp/header.trace"
size=$(stat -c %s "$trace")
head -c $((size - 5)) "$trace" >"$tmp/cut.trace"
expect_refusal "cut in the events" "byte $((size - 16)): truncated" "$tmp/cut.trace"
: >"$tmp/empty.trace"
expect_refusal "empty file" "byte 0: truncated" "$tmp/empty.trace"
cp "$trace" "$tmp/metadata.trace"; printf '[' | dd of="$tmp/metadata.trace" bs=1 seek=24 conv=notrunc 2>/dev/null
expect_refusal "bad metadata" "byte 24: bad trace_header" "$tmp/metadata.trace"
# The first event freed instead of allocated: bit 63 of its word is the last byte of the event.
events_at=$(( (24 + $(od -An -tu4 -j12 -N4 "$trace" | tr -d ' ') + 15) / 16 * 16 ))
cp "$trace" "$tmp/event.trace"; printf '\x80' | dd of="$tmp/event.trace" bs=1 seek=$((events_at + 15)) conv=notrunc 2>/dev/null
expect_refusal "bad event" "byte $events_at: event 0: free of id 0, which is not live" "$tmp/event.trace"
# The header announcing no events, and none there.
head -c "$events_at" "$trace" >"$tmp/noevents.trace"
printf '\0\0\0\0\0\0\0\0' | dd of="$tmp/noevents.trace" bs=1 seek=16 conv=notrunc 2>/dev/null
expect_refusal "no events" "byte $events_at: no events: nothing to replay" "$tmp/noevents.trace"
expect_refusal "missing file" "cannot open" "$tmp/none.trace"
[[ ! -e "$tmp/bad/replay.csv" ]] || fail "a refused trace published results"

for bad in "" "--policies=arena $trace" "--repetitions=0 $trace" "--pool_slots=x $trace" \
  "--pool_slots=1099511627776 $trace" "$trace $trace"; do
  # shellcheck disable=SC2086  # a case may hold two words
  msg=$("$replay" $bad --out="$tmp/bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "'$bad' exited $status, expected 2 ($msg)"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "'$bad': not one line: $msg"
done
for bad in --workload=nope --n=0 --n=1K,2K; do
  msg=$("$record" $bad --trace="$tmp/x.trace" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "record $bad exited $status, expected 2 ($msg)"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
