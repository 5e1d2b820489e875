#!/usr/bin/env bash
# Runs one experiment once per process malloc: the <name>_<malloc> binaries that
# cc_binary_per_malloc (bazel/process_malloc.bzl) stamps out, one after the other, with the same
# arguments. Linking mimalloc, jemalloc or tcmalloc replaces malloc for the whole process, so a
# comparison of process allocators needs a process per malloc; this is the one command that runs
# them all. A sh_binary gives the binaries in its `args`:
#
#   per_malloc.sh NAME glibc=BIN mimalloc=BIN jemalloc=BIN tcmalloc=BIN -- [ARGS]
#
# ARGS go to every binary, except:
#   --mallocs=LIST   which process mallocs to run, comma-separated (default: all, in that order)
#   --out=DIR        becomes DIR/<malloc> for each, so that their results stay apart (without it
#                    each binary writes to its own default directory, which names its malloc)
# Stops at the first binary that fails, with its exit status (2: bad input, 130: interrupted):
# the binary has already said why. Progress goes to stderr.
set -u
if [[ $# -lt 2 ]]; then
  echo "per_malloc.sh: usage: per_malloc.sh NAME MALLOC=BINARY... -- [ARGS] (bazel run gives these)" >&2
  exit 2
fi
name=$1
shift
declare -A binary=()
order=()
while [[ $# -gt 0 && $1 != -- ]]; do
  binary[${1%%=*}]=${1#*=}
  order+=("${1%%=*}")
  shift
done
[[ ${1:-} == -- ]] && shift

fail() {  # one line, exit 2
  echo "$name: $*" >&2
  exit 2
}

# The binaries' flag syntax (Abseil, experiments/common/flags.cc): one dash or two, `=VALUE` or
# the next argument; everything after a bare `--` is positional.
mallocs=("${order[@]}")
out=""
args=()
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --) shift; positional=("$@"); break ;;
    -mallocs=* | --mallocs=*) IFS=, read -r -a mallocs <<<"${1#*=}"; [[ -n ${1#*=} ]] || mallocs=() ;;
    -mallocs | --mallocs) [[ $# -ge 2 ]] || fail "--mallocs needs a value"; IFS=, read -r -a mallocs <<<"$2"; shift ;;
    -out=* | --out=*) out=${1#*=}; [[ -n $out ]] || fail "--out is empty" ;;
    -out | --out) [[ $# -ge 2 && -n $2 ]] || fail "--out needs a value"; out=$2; shift ;;
    -help* | --help* | -version | --version | -only_check_args | --only_check_args)
      echo "$name: runs ${name}_<malloc> for each process malloc (${order[*]}), with the same flags;"
      echo "  --mallocs=LIST picks some of them, --out=DIR writes DIR/<malloc> for each."
      echo "Every binary's own flags:"
      exec "${binary[${order[0]}]}" "$1" ;;
    *) args+=("$1") ;;
  esac
  shift
done
[[ ${#mallocs[@]} -gt 0 ]] || fail "--mallocs is empty; expected some of: ${order[*]}"
declare -A seen=()
for m in "${mallocs[@]}"; do
  [[ -n $m ]] || fail "an empty name in --mallocs; expected some of: ${order[*]}"
  [[ -n ${binary[$m]:-} ]] || fail "unknown process malloc '$m' in --mallocs; expected some of: ${order[*]}"
  [[ -z ${seen[$m]:-} ]] || fail "process malloc '$m' given twice in --mallocs"
  seen[$m]=1
done

start=$SECONDS
i=0
for m in "${mallocs[@]}"; do
  i=$((i + 1))
  run=("${binary[$m]}" ${out:+"--out=$out/$m"} "${args[@]}")
  [[ ${#positional[@]} -gt 0 ]] && run+=(-- "${positional[@]}")
  echo "$name: [$i/${#mallocs[@]}] ${name}_$m" >&2
  began=$SECONDS
  # In the foreground, so that Ctrl-C reaches the binary as from the terminal (a background job
  # of a script would start with SIGINT ignored).
  "${run[@]}"
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "$name: ${name}_$m exited with status $status; the process mallocs after it did not run" >&2
    exit "$status"
  fi
  echo "$name: [$i/${#mallocs[@]}] ${name}_$m done in $((SECONDS - began)) s" >&2
done
plural=$([[ ${#mallocs[@]} -eq 1 ]] && echo "" || echo "s")
echo "$name: ${#mallocs[@]} process malloc$plural (${mallocs[*]}) done in $((SECONDS - start)) s" >&2
