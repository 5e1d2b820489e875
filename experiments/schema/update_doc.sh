#!/usr/bin/env bash
# Rewrites the generated tables of experiments/RESULTS_SCHEMA.md from schema.json, in the workspace.
set -euo pipefail
gen="$(pwd)/$1" schema="$(pwd)/$2"
doc="${BUILD_WORKSPACE_DIRECTORY:?run me with bazel run}/experiments/RESULTS_SCHEMA.md"
new=$("$gen" --markdown "$schema" "$doc")
printf '%s\n' "$new" >"$doc.tmp.$$" && mv "$doc.tmp.$$" "$doc"
echo "updated $doc"
