#!/usr/bin/env bash
# memory_timeline end to end: the result files and their shape, a growing pool that never falls
# back, Ctrl-C publishing nothing, and bad input (one line, exit 2).
set -u
binary="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$binary" --n=5K --samples=20 --policies=malloc,bump_pool,growing_pool --out="$tmp/a" \
  >"$tmp/a.out" 2>"$tmp/a.err" || fail "a run failed: $(cat "$tmp/a.err")"
cells="$tmp/a/memory_timeline_cells.csv"
samples="$tmp/a/memory_timeline.csv"
[[ -s "$cells" && -s "$samples" && -s "$tmp/a/memory_timeline.json" ]] || fail "result files missing"
head -1 "$cells" | grep -q '^process_malloc,workload,policy,n,operations,' || fail "cells header: $(head -1 "$cells")"
[[ $(($(wc -l <"$cells") - 1)) -eq 9 ]] || fail "expected 9 cells (3 workloads x 3 policies)"
# build: 20 samples plus op 0 (5,000 ops, one every 250); churn, persistent: 15,000 ops, every 750.
[[ $(grep -c '^glibc,build,bump_pool,' "$samples") -eq 21 ]] || fail "build/bump_pool: not 21 samples"
[[ $(grep -c '^glibc,churn,malloc,' "$samples") -eq 21 ]] || fail "churn/malloc: not 21 samples"
[[ $(grep -c '^glibc,persistent,growing_pool,' "$samples") -eq 21 ]] || fail "persistent/growing_pool: not 21 samples"
# The bump pool (65,536 slots) falls back within 5K keys; the growing pool never does.
grep -q '^glibc,build,bump_pool,5000,5000,250,65536,[0-9]' "$cells" || fail "bump pool: no first fallback: $(grep bump_pool "$cells")"
grep -q '^glibc,build,growing_pool,5000,5000,250,65536,,' "$cells" || fail "growing pool fell back: $(grep growing_pool "$cells")"
grep -q '^glibc,build,malloc,5000,5000,250,,,' "$cells" || fail "malloc row: $(grep ',malloc,' "$cells")"
grep -q '"complete": true' "$tmp/a/memory_timeline.json" || fail "JSON not complete"
grep -q 'retained' "$tmp/a.out" || fail "no table printed"

# Ctrl-C (to the process group, as a terminal sends it) mid-run: exit 130, nothing published.
setsid "$binary" --n=3M --workloads=churn --policies=malloc,bump_pool,slot_recycler \
  --out="$tmp/int" >/dev/null 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 600); do grep -q 'cells' "$tmp/int.err" 2>/dev/null && break; sleep 0.1; done
kill -INT -- "-$pid" 2>/dev/null
wait "$pid"; status=$?
[[ $status == 130 ]] || fail "Ctrl-C: exit $status, expected 130 ($(tail -1 "$tmp/int.err"))"
[[ ! -e "$tmp/int/memory_timeline.current" ]] || fail "Ctrl-C: a result set was published"
# SIGINT to the driver alone (kill, not a terminal) is passed on to the cell's process.
setsid "$binary" --n=3M --workloads=churn --policies=malloc,bump_pool,slot_recycler \
  --out="$tmp/int2" >/dev/null 2>"$tmp/int2.err" &
pid=$!
for _ in $(seq 1 600); do grep -q 'cells' "$tmp/int2.err" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid" 2>/dev/null
wait "$pid"; status=$?
[[ $status == 130 ]] || fail "SIGINT to the driver: exit $status, expected 130 ($(tail -1 "$tmp/int2.err"))"
[[ ! -e "$tmp/int2/memory_timeline.current" ]] || fail "SIGINT to the driver: a result set was published"

for bad in --n=0 --n=abc --policies=nope --workloads=steady --samples=0 --pool_slots=1,2 \
           --pool_slots=2199023255552 --cell=garbage --cell=build,malloc,10,0,0,glibc \
           --cell=build,nope,10,1,0,glibc --cell=build,malloc,10,1,0,musl foo; do
  # shellcheck disable=SC2086  # a case may hold two flags
  msg=$("$binary" $bad --out="$tmp/bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "$bad exited $status, expected 2 ($msg)"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$bad: not one line: $msg"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
