#!/usr/bin/env bash
# persistent_churn end to end: the result files and their shape, Ctrl-C publishing nothing, and
# bad input (one line, exit 2).
set -u
binary="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$binary" --n=2K --samples=10 --policies=malloc,bump_pool,slot_recycler --out="$tmp/a" \
  >"$tmp/a.out" 2>"$tmp/a.err" || fail "a run failed: $(cat "$tmp/a.err")"
cells="$tmp/a/persistent_churn.csv"
samples="$tmp/a/persistent_churn_samples.csv"
[[ -s "$cells" && -s "$samples" && -s "$tmp/a/persistent_churn.json" ]] || fail "result files missing"
head -1 "$cells" | grep -q '^process_malloc,retention,policy,n,updates,history,' || fail "cells header: $(head -1 "$cells")"
[[ $(($(wc -l <"$cells") - 1)) -eq 12 ]] || fail "expected 12 cells (4 retentions x 3 policies)"
# 2,000 updates sampled every 200: 0, 200, ..., 2000.
for cell in in_place,malloc newest,bump_pool last_h,slot_recycler random,malloc; do
  [[ $(grep -c "^glibc,$cell,2000," "$samples") -eq 11 ]] || fail "$cell: not 11 samples"
done
grep -q '^glibc,last_h,malloc,2000,2000,16,' "$cells" || fail "last_h row: $(grep last_h,malloc "$cells")"
grep -q '^glibc,newest,malloc,2000,2000,1,' "$cells" || fail "newest row: $(grep newest,malloc "$cells")"
grep -q '"complete": true' "$tmp/a/persistent_churn.json" || fail "JSON not complete"
grep -q 'u->exhaust' "$tmp/a.out" || fail "no table printed"

# Ctrl-C (to the process group, as a terminal sends it) mid-run: exit 130, nothing published.
setsid "$binary" --n=3M --retentions=newest --policies=malloc,bump_pool \
  --out="$tmp/int" >/dev/null 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 600); do grep -q 'cells' "$tmp/int.err" 2>/dev/null && break; sleep 0.1; done
kill -INT -- "-$pid" 2>/dev/null
wait "$pid"; status=$?
[[ $status == 130 ]] || fail "Ctrl-C: exit $status, expected 130 ($(tail -1 "$tmp/int.err"))"
[[ ! -e "$tmp/int/persistent_churn.current" ]] || fail "Ctrl-C: a result set was published"

for bad in --n=0 --n=abc --policies=nope --retentions=sometimes --history=0 --samples=0 \
           --updates=2000000000 --pool_slots=1,2 --cell=garbage \
           --cell=newest,malloc,10,10,1,1,0,musl foo; do
  msg=$("$binary" $bad --out="$tmp/bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "$bad exited $status, expected 2 ($msg)"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$bad: not one line: $msg"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
