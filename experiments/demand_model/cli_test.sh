#!/usr/bin/env bash
# demand_model end to end: predictions for any N up to 10^9 in about a second, the result files,
# the identity hash, and bad input.
set -u
binary="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

start=$(date +%s%N)
"$binary" --n=1K,1000M --pools=65536 --policies=bump_pool --out="$tmp/a" >"$tmp/a.out" 2>"$tmp/a.err" ||
  fail "a run failed: $(cat "$tmp/a.err")"
echo "N up to 10^9, bump pool: $(( ($(date +%s%N) - start) / 1000000 )) ms"
csv="$tmp/a/demand_model.csv"
[[ -s "$csv" ]] || fail "no CSV"
head -1 "$csv" | grep -q '^policy,n,pool_slots,slots_demanded,' || fail "CSV header: $(head -1 "$csv")"
[[ $(($(wc -l <"$csv") - 1)) -eq 4 ]] || fail "expected 4 predictions (2 N x unbounded, 65,536)"
grep -q '^bump_pool,1000000000,0,' "$csv" || fail "no prediction for N = 10^9"
grep -q '"complete": true' "$tmp/a/demand_model.json" || fail "JSON not complete"
grep -q 'exhausted at N' "$tmp/a.out" || fail "no table printed"

"$binary" --n=1000 --hash=identity --pools=0 --out="$tmp/b" >"$tmp/b.out" 2>&1 || fail "identity hash failed"
grep -q 'warning: identity hash' "$tmp/b.out" || fail "the identity hash carries no warning"
# The default pools and policies under the identity hash: a recycler past exhaustion is not
# modelled there, so its demand is empty (null), not a failure.
"$binary" --n=10K --hash=identity --out="$tmp/c" >"$tmp/c.out" 2>&1 || fail "identity hash, default pools: $(tail -1 "$tmp/c.out")"
grep -q '^slot_recycler,10000,65536,,' "$tmp/c/demand_model.csv" ||
  fail "identity recycler past exhaustion: $(grep '^slot_recycler,10000,65536' "$tmp/c/demand_model.csv")"

for bad in --n=abc --n=0 --pools=x --hash=md5 --layout=bits_per_level=9 --layout=nonsense=1 \
           --policies=arena --headroom=nan foo "--layout=hash_bits=8 --hash=identity"; do
  # shellcheck disable=SC2086  # a case may hold two flags
  msg=$("$binary" $bad --out="$tmp/bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "$bad exited $status, expected 2 ($msg)"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$bad: not one line: $msg"
done
if [[ $failures -gt 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
