#!/usr/bin/env bash
# //experiments:replay, the driver over replay_<malloc> (experiments/common/per_malloc.sh): every
# process malloc replays the same trace into its own directory, --mallocs picks some, a bad flag
# or a bad trace stops at once with the replay's exit status.
set -u
driver="$1"
record="$2"
shift 2
bins=("glibc=$1" "mimalloc=$2" "jemalloc=$3" "tcmalloc=$4")
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
run() { "$driver" replay "${bins[@]}" -- "$@"; }

trace="$tmp/study.trace"
"$record" --workload=study_build --n=2000 --trace="$trace" >/dev/null 2>"$tmp/record.err" ||
  fail "record failed: $(cat "$tmp/record.err")"

run "$trace" --repetitions=1 --policies=malloc,bump_pool --out="$tmp/all" >"$tmp/all.out" \
  2>"$tmp/all.err" || fail "driver failed: $(cat "$tmp/all.err")"
for m in glibc mimalloc jemalloc tcmalloc; do
  csv="$tmp/all/$m/replay.csv"
  [[ -s $csv ]] || { fail "no $csv"; continue; }
  column=$(head -1 "$csv" | tr ',' '\n' | grep -n '^process_malloc$' | cut -d: -f1)
  [[ -n $column ]] || { fail "$csv has no process_malloc column"; continue; }
  # Each directory holds its own malloc's rows only (the version follows the name).
  others=$(tail -n +2 "$csv" | cut -d, -f"$column" | grep -cv "^$m" || true)
  [[ $(tail -n +2 "$csv" | wc -l) == 3 && $others == 0 ]] ||
    fail "$csv: expected null, malloc and bump_pool rows of $m: $(cut -d, -f"$column" "$csv" | tr '\n' ' ')"
  grep -q "\[.*\] replay_$m done" "$tmp/all.err" || fail "no progress line for $m"
done
grep -q '4 process mallocs (glibc mimalloc jemalloc tcmalloc) done' "$tmp/all.err" ||
  fail "no summary line: $(tail -1 "$tmp/all.err")"

# Some of them, in the order given.
run "$trace" --repetitions=1 --policies=malloc --mallocs=jemalloc,glibc --out="$tmp/some" \
  >/dev/null 2>"$tmp/some.err" || fail "--mallocs=jemalloc,glibc failed: $(cat "$tmp/some.err")"
[[ -s $tmp/some/jemalloc/replay.csv && -s $tmp/some/glibc/replay.csv && ! -e $tmp/some/tcmalloc ]] ||
  fail "--mallocs=jemalloc,glibc wrote: $(ls "$tmp/some")"
grep -q '\[1/2\] replay_jemalloc$' "$tmp/some.err" || fail "jemalloc did not run first"

# Bad input: one line, exit 2, nothing run.
expect_error() {  # expect_error STATUS TEXT ARGS...
  local want=$1 text=$2 msg status
  shift 2
  msg=$(run "$@" 2>&1 >/dev/null)
  status=$?
  [[ $status == "$want" && $msg == *"$text"* ]] ||
    fail "$*: wanted exit $want and '$text', got exit $status: $msg"
}
expect_error 2 "unknown process malloc 'hoard'" "$trace" --mallocs=glibc,hoard
expect_error 2 "given twice" "$trace" --mallocs=glibc,glibc
expect_error 2 "--out needs a value" "$trace" --out
expect_error 2 "an empty name in --mallocs" "$trace" --mallocs=glibc,,jemalloc
[[ $(run "$trace" --mallocs=hoard 2>&1 | wc -l) == 1 ]] || fail "a bad --mallocs printed more than one line"
# The replay's own errors stop the driver with the replay's status, before the next malloc runs.
head -c 20 "$trace" >"$tmp/truncated.trace"
msg=$(run "$tmp/truncated.trace" --out="$tmp/bad" 2>&1 >/dev/null)
status=$?
[[ $status == 2 && $msg == *"byte"* && $msg == *"replay_glibc exited with status 2"* ]] ||
  fail "a truncated trace: exit $status: $msg"
[[ $msg != *replay_mimalloc* ]] || fail "the driver went on after a failure: $msg"
# A bad flag of the replay's own: its one line and status 2, from the first malloc.
expect_error 2 "--repetitions" "$trace" --repetitions=0
# -out (one dash, as the binaries accept it) is the driver's too: each malloc its own directory.
run "$trace" --repetitions=1 --policies=malloc --mallocs=glibc,tcmalloc -out "$tmp/dash" \
  >/dev/null 2>"$tmp/dash.err" || fail "-out DIR failed: $(cat "$tmp/dash.err")"
[[ -s $tmp/dash/glibc/replay.csv && -s $tmp/dash/tcmalloc/replay.csv ]] ||
  fail "-out DIR wrote: $(ls -R "$tmp/dash" 2>&1 | head -5)"
# --help names the driver's own flags and the replay's.
help=$(run --help 2>&1)
[[ $help == *"--mallocs=LIST"* && $help == *"--repetitions"* ]] || fail "--help: $help"

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS"
