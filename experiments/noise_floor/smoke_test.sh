#!/usr/bin/env bash
# The noise-floor probe runs, takes Google Benchmark flags over its defaults and reports a CV per
# probe.
set -euo pipefail
bin=$1
out=$("$bin" --benchmark_filter='^(alu|chase/bytes:16384)$' --benchmark_repetitions=3 \
  --benchmark_min_time=0.001 2>&1)
for name in alu_cv chase/bytes:16384_cv alu_median; do
  grep -q "^$name " <<<"$out" || { echo "FAIL: no $name line in:"; echo "$out"; exit 1; }
done
if grep -q "chase/bytes:268435456" <<<"$out"; then
  echo "FAIL: the filter did not apply"; exit 1
fi
if "$bin" --no_such_flag >/dev/null 2>&1; then echo "FAIL: an unknown flag was accepted"; exit 1; fi
echo PASS
