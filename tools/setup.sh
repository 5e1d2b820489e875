#!/usr/bin/env bash
# Installs the Debian 12 packages hamt-alloc needs, and only those that are missing.
# Idempotent: when everything is there it checks and returns in about a second.
set -euo pipefail

# package -> why it is needed
declare -A why=(
  [bazel-bootstrap]="Bazel 4.2.3, the build"
  [bazel-rules-java]="rules_java, which Bazel's WORKSPACE needs"
  [clang]="clang++ for the libFuzzer build (//hamt/fuzz:map_fuzzer_clang, which map_fuzzer_smoke_test runs)"
  [libclang-rt-14-dev]="libFuzzer and the sanitizer runtimes for clang 14"
  [g++]="the C++20 compiler"
  [git]="run metadata (commit)"
  [libabsl-dev]="Abseil: hash, flat_hash_map, flags, strings"
  [libbenchmark-dev]="Google Benchmark"
  [libgtest-dev]="GoogleTest"
  [libgmock-dev]="GoogleMock (gmock/gmock.h, libgmock.a): a separate package from GoogleTest"
  [libmimalloc-dev]="mimalloc"
  [libjemalloc-dev]="jemalloc"
  [libgoogle-perftools-dev]="tcmalloc (gperftools)"
  [nlohmann-json3-dev]="JSON result files"
  [python3-matplotlib]="analysis: figures"
  [python3-pandas]="analysis: tables"
  [python3-scipy]="analysis: statistics"
  [python3-jinja2]="analysis: LaTeX tables (pandas' Styler needs it; pandas only recommends it)"
  [llvm-14]="llvm-symbolizer-14: readable stacks in the clang fuzzer's sanitizer reports"
  [valgrind]="memcheck test of the pool-exhaustion run"
  [mount]="mount(8): the full-disk test mounts a 64 KB tmpfs (a minimal root can lack it)"
  [slurmctld]="Slurm's controller: the job-array test runs a single-node cluster (experiments/slurm)"
  [slurmd]="Slurm's node daemon, for the same test"
  [slurm-client]="sbatch, squeue, scontrol, sinfo: submitting sharded sweeps (experiments/slurm)"
  [munge]="Slurm's authentication daemon, for the same test"
  [iproute2]="ss(8): the Slurm test picks free ports for its daemons"
)

missing=()
for package in "${!why[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#why[@]} Debian packages are installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing Debian package(s):"
for package in "${missing[@]}"; do echo "  $package  (${why[$package]})"; done

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "setup: error: installing packages needs root, and sudo is not available" >&2
    exit 1
  fi
fi
log=$(mktemp)
if ! $sudo apt-get update -q >"$log" 2>&1; then
  echo "setup: error: 'apt-get update' failed (network or apt sources?); last lines:" >&2
  tail -5 "$log" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >"$log" 2>&1; then
  echo "setup: error: 'apt-get install ${missing[*]}' failed; last lines:" >&2
  tail -10 "$log" >&2
  exit 1
fi
rm -f "$log"
echo "setup: done"
