#!/usr/bin/env bash
# RESULTS_SCHEMA.md's generated tables must equal what schema.json generates today.
set -euo pipefail
gen="$1" schema="$2" doc="$3"
expected=$("$gen" --markdown "$schema" "$doc")
if ! diff <(printf '%s\n' "$expected") "$doc" >"${TEST_TMPDIR:-/tmp}/doc.diff"; then
  echo "FAIL: experiments/RESULTS_SCHEMA.md is out of date with experiments/schema/schema.json;"
  echo "run: bazel run //experiments/schema:update_doc"
  cat "${TEST_TMPDIR:-/tmp}/doc.diff"
  exit 1
fi
grep -c '<!-- schema:' "$doc" | xargs echo "tables checked:"
echo PASS
