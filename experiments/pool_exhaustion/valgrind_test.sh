#!/usr/bin/env bash
# valgrind memcheck over a shortened pool-exhaustion run: every policy, a pool that is exhausted
# and one that is not, the findings' extra measurements. Any memcheck error or leak fails the test.
set -u
binary="$1"
if ! command -v valgrind >/dev/null; then
  # A test that did not run must not count as passed.
  echo "FAIL: valgrind is not installed (Debian package valgrind; tools/setup.sh installs it)"
  exit 1
fi
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
# Finding 4's map with the process malloc only: memcheck cannot follow the other allocators when
# they are loaded privately (it intercepts some of their entry points and not others, and reports
# their frees as mismatched), and they are not this project's code.
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  "$binary" --quiet --n=500,2000 --pools=2048,200000 --repetitions=1 --seeds=1 \
  --capacity_search_limit=20K --finding4_fallbacks=malloc --out="$tmp/out" \
  >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
if [[ $status -ne 0 ]]; then
  echo "FAIL: valgrind run exited $status"
  cat "$tmp/stderr"
  exit 1
fi
grep -q 'Findings' "$tmp/stdout" || { echo "FAIL: no findings printed"; exit 1; }
echo "valgrind memcheck clean"
