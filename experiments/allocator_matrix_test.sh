#!/bin/bash
# experiments/allocator_matrix_test.sh: end-to-end check of `allocator_matrix --quick` with a narrow
# filter (insert_seq and find_hit at 1K keys, one thread, 1 repetition) for all four process
# mallocs: the JSON files exist and parse, the merged CSV has the schema's header and rows for every
# malloc, and bad flags exit 2.
set -u
driver="$1"
out="${TEST_TMPDIR:-$(mktemp -d)}/matrix"
fail() { echo "FAIL: $*" >&2; exit 1; }

start=$(date +%s)
"$driver" --quick --repetitions=1 --threads=1 --out="$out" \
    --filter='^(insert_seq|find_hit)/[^/]+/keys:1000/' || fail "driver exited $?"
echo "quick filtered run took $(( $(date +%s) - start )) s"

for m in glibc mimalloc jemalloc tcmalloc; do
  f="$out/matrix_$m.json"
  [[ -s "$f" ]] || fail "$f missing"
  grep -q '"benchmarks"' "$f" || fail "$f has no benchmarks array"
  grep -q "\"process_malloc\": \"$m\"" "$f" || fail "$f context lacks process_malloc $m"
  grep -q '"run_type": "iteration"' "$f" || fail "$f lacks per-repetition entries"
done

csv="$out/allocator_matrix.csv"
[[ -s "$csv" ]] || fail "$csv missing"
header='schema_version,process_malloc,workload,policy,n,threads,repetitions,ns_per_op,ns_per_op_cv,ns_per_op_reps,allocs_per_op,bytes_per_op,bytes_per_entry,peak_rss_kb,fallback_pct,error,real_ns_per_op'
[[ "$(head -1 "$csv")" == "$header" ]] || fail "CSV header is '$(head -1 "$csv")'"
for m in glibc mimalloc jemalloc tcmalloc; do
  for w in insert_seq find_hit; do
    for p in bump_pool slot_recycler malloc mimalloc jemalloc jemalloc_arena tcmalloc pmr_pool \
             std_unordered_map; do
      grep -q "^1,$m,$w,$p,1000,1,1,[0-9.e+]*," "$csv" || fail "no timed row for $m $w $p"
    done
  done
done
# No benchmark may have failed its result check.
if awk -F, 'NR > 1 && $16 != "" {found=1} END {exit !found}' "$csv"; then
  fail "rows with errors: $(awk -F, 'NR > 1 && $16 != ""' "$csv" | head -3)"
fi
[[ -s "$out/context.json" ]] || fail "context.json missing"
grep -q '"cpu_scaling_enabled"' "$out/context.json" || fail "context.json lacks cpu_scaling_enabled"
grep -q '"library_build_type"' "$out/context.json" || fail "context.json lacks library_build_type"

# Bad flags: one line naming the flag, exit 2.
for bad in --no_such_flag --threads=0 --mallocs=glibc,ptmalloc --repetitions=x '--filter=(' \
           "--out=/proc/nonexistent/dir"; do
  msg=$("$driver" "$bad" 2>&1 >/dev/null); status=$?
  [[ $status == 2 ]] || fail "$bad exited $status, expected 2 ($msg)"
  name="${bad#--}"; name="${name%%=*}"
  [[ "$msg" == *"$name"* ]] || fail "$bad: message does not name the flag: $msg"
  [[ $(printf '%s\n' "$msg" | wc -l) == 1 ]] || fail "$bad: message is not one line: $msg"
done
echo PASS
