#!/usr/bin/env bash
# The pool_exhaustion command line: bad input gives one line naming the flag and exit status 2;
# a small run writes CSV and JSON whose counts are the same from one run to the next.
set -u
binary="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

expect_usage_error() {
  local what="$1"; shift
  local stderr_file="$tmp/stderr"
  "$binary" --quiet --out="$tmp/bad" "$@" >/dev/null 2>"$stderr_file"
  local status=$?
  if [[ $status -ne 2 ]]; then
    echo "FAIL ($what): exit status $status, expected 2; stderr: $(cat "$stderr_file")"; failures=$((failures + 1))
  elif [[ $(wc -l <"$stderr_file") -ne 1 ]] || ! grep -q -- "$what" "$stderr_file"; then
    echo "FAIL ($what): expected one line naming '$what', got: $(cat "$stderr_file")"; failures=$((failures + 1))
  fi
  if [[ -e "$tmp/bad/pool_exhaustion.csv" ]]; then
    echo "FAIL ($what): a result file was written"; failures=$((failures + 1))
  fi
}

expect_usage_error "--n" --n=abc
expect_usage_error "--n" --n=-5
expect_usage_error "--n" --n=0
expect_usage_error "--n" --n=1000,
expect_usage_error "--n" --n=100000000000
expect_usage_error "--pools" --pools=lots
expect_usage_error "--pools" --pools=99999999999999999999
expect_usage_error "--pools" --pools=17592186044416
expect_usage_error "--n" --n=1000M
expect_usage_error "--policies" --policies=arena
expect_usage_error "--repetitions" --repetitions=0
expect_usage_error "--repetitions" --repetitions=x
expect_usage_error "--headroom" --headroom=-1
expect_usage_error "--bogus" --bogus=1
expect_usage_error "--out" --n=1000 --out=/proc/version/x

run_small() {
  "$binary" --quiet --n=1000,3000 --pools=4096,1000000 --repetitions=1 \
    --capacity_search_limit=200K --out="$1" >"$1.stdout" 2>"$1.stderr"
}
for run in a b; do
  if ! run_small "$tmp/$run"; then
    echo "FAIL: small run $run failed: $(cat "$tmp/$run.stderr")"; failures=$((failures + 1))
  fi
done
for file in pool_exhaustion.csv pool_exhaustion.json; do
  [[ -s "$tmp/a/$file" ]] || { echo "FAIL: $file not written"; failures=$((failures + 1)); }
done
head -1 "$tmp/a/pool_exhaustion.csv" | grep -q '^schema_version,policy,n,pool_slots,allocations,frees,fallback_allocations' \
  || { echo "FAIL: CSV header"; failures=$((failures + 1)); }
rows=$(($(wc -l <"$tmp/a/pool_exhaustion.csv") - 1))
[[ $rows -eq 10 ]] || { echo "FAIL: expected 10 rows, got $rows"; failures=$((failures + 1)); }
grep -q '"complete": true' "$tmp/a/pool_exhaustion.json" || { echo "FAIL: JSON not complete"; failures=$((failures + 1)); }
grep -q '"findings"' "$tmp/a/pool_exhaustion.json" || { echo "FAIL: JSON has no findings"; failures=$((failures + 1)); }
grep -q 'Findings' "$tmp/a.stdout" || { echo "FAIL: no findings printed"; failures=$((failures + 1)); }
# Columns 1-17 are counts and the derived values: identical between runs.
if ! diff <(cut -d, -f1-17 "$tmp/a/pool_exhaustion.csv") <(cut -d, -f1-17 "$tmp/b/pool_exhaustion.csv") >/dev/null; then
  echo "FAIL: counts differ between two runs"; failures=$((failures + 1))
fi
ls "$tmp/a" | grep -q '\.tmp\.' && { echo "FAIL: temporary file left behind"; failures=$((failures + 1)); }

# SIGINT keeps the completed rows, marks the run incomplete, and --resume finishes it.
interrupted="$tmp/interrupted"
"$binary" --n=100K,110K,120K,130K,140K,150K,160K --pools=4096 --policies=bump_pool \
  --repetitions=3 --capacity_search_limit=100K --out="$interrupted" >/dev/null 2>"$tmp/int.stderr" &
pid=$!
for _ in $(seq 1 200); do
  grep -q '^\[2/' "$tmp/int.stderr" 2>/dev/null && break
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"
status=$?
if [[ $status -ne 130 ]]; then
  echo "FAIL: interrupted run exited $status, expected 130"; failures=$((failures + 1))
else
  kept=$(($(wc -l <"$interrupted/pool_exhaustion.csv") - 1))
  [[ $kept -ge 2 && $kept -lt 7 ]] || { echo "FAIL: interrupted run kept $kept rows"; failures=$((failures + 1)); }
  grep -q '"complete": false' "$interrupted/pool_exhaustion.json" || { echo "FAIL: not marked incomplete"; failures=$((failures + 1)); }
  grep -q -- '--resume' "$tmp/int.stderr" || { echo "FAIL: no hint to resume"; failures=$((failures + 1)); }
  if ! "$binary" --quiet --resume --n=100K,110K,120K,130K,140K,150K,160K --pools=4096 \
      --policies=bump_pool --repetitions=3 --capacity_search_limit=100K --out="$interrupted" >/dev/null 2>&1; then
    echo "FAIL: --resume failed"; failures=$((failures + 1))
  fi
  rows=$(($(wc -l <"$interrupted/pool_exhaustion.csv") - 1))
  [[ $rows -eq 7 ]] || { echo "FAIL: resumed run has $rows rows, expected 7"; failures=$((failures + 1)); }
  grep -q '"complete": true' "$interrupted/pool_exhaustion.json" || { echo "FAIL: resumed run not complete"; failures=$((failures + 1)); }
fi

if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo "all pool_exhaustion CLI checks passed"
