# A throw-away single-node Slurm 22.05 cluster (munged + slurmctld + slurmd) on localhost, all of
# its state inside one directory, for tests. Source it, then, in the same shell (not in $(...) or
# a pipeline, which would lose the daemons' pids):
#   trap cluster_stop EXIT; cluster_start "$dir" || exit 1; sbatch ...; cluster_wait_job "$id" 60
# Needs root and the Debian packages slurmctld slurmd slurm-client munge; no systemd, no cgroups.
# Safe under the caller's `set -euo pipefail`; sets no shell options itself.

_CLUSTER_PIDS=""  # daemons we started, killed by pid only: another cluster may share the machine
_CLUSTER_DIR=""

# A TCP port in 20000-29999 nobody listens on, and not $1 (both are picked before either binds).
_cluster_free_port() {
  local port tries=50
  while ((tries-- > 0)); do
    port=$((20000 + RANDOM % 10000))
    [[ $port != "${1:-}" ]] || continue
    # Not `ss | grep -q`: with the caller's pipefail, a SIGPIPEd ss would make a busy port free.
    [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] || { echo "$port"; return 0; }
  done
  return 1
}

# Starts $2.. in the background, output to $1, and records its pid. Daemons run in foreground
# mode (-F/-D) as jobs of this shell: the sandbox's init reaps orphans late if at all, so a
# daemonized one would linger as a zombie; this shell can `wait`. stdin/stdout are detached so a
# harness reading our stdout through a pipe does not wait for the daemons.
_cluster_spawn() {
  local out=$1; shift
  "$@" </dev/null >"$out" 2>&1 &
  _CLUSTER_PIDS="$_CLUSTER_PIDS $!"
}

_cluster_logs() {  # DIR: the daemons' log tails, to stderr
  local f
  for f in "$1"/log/*; do [[ -s $f ]] && { echo "==> $f <=="; tail -n 20 "$f"; }; done >&2
  return 0
}

cluster_start() {
  local dir=${1:?usage: cluster_start DIR} ncpu ctld_port slurmd_port end pid state="" key sock
  [[ -z $_CLUSTER_PIDS ]] || { echo "cluster_start: a cluster is already running" >&2; return 1; }
  dir=$(mkdir -p "$dir" && cd "$dir" && pwd) || return 1  # conf and munged want absolute paths
  # Unix socket paths are limited to 108 bytes: slurmstepd's $dir/spool/localhost_<job>.<step>
  # fails (job requeued, pending forever) past ~70. Bazel's $TEST_TMPDIR is too long: use
  # `mktemp -d /tmp/slurm.XXXXXX`. Use a fresh DIR: slurmctld would recover an old state/.
  ((${#dir} <= 64)) || { echo "cluster_start: DIR longer than 64 bytes: $dir" >&2; return 1; }
  _CLUSTER_DIR=$dir
  mkdir -p "$dir/munge" "$dir/log" "$dir/state" "$dir/spool" "$dir/run" || return 1
  # munged refuses a key readable by others and a socket directory writable by others, and exits
  # unless every directory above the socket is executable by all: `mktemp -d` gives 0700, so
  # DIR gets a+x here; its parents are left alone (the munged.out tail then says which one).
  chmod a+x "$dir" && chmod 0711 "$dir/munge" || return 1
  key=$dir/munge/munge.key sock=$dir/munge/munge.sock
  { mungekey -c -f -k "$key" 2>/dev/null ||
    dd if=/dev/urandom of="$key" bs=1 count=1024 status=none; } && chmod 0400 "$key" || return 1
  # With -F munged logs to stderr (log/munged.out), not to --log-file.
  _cluster_spawn "$dir/log/munged.out" munged -F --socket="$sock" --key-file="$key" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  # Slurm daemons and clients without munged retry for minutes: make sure it is up first.
  end=$((SECONDS + 5))
  while [[ ! -S $sock ]] && ((SECONDS < end)); do sleep 0.1; done
  [[ -S $sock ]] || { echo "cluster_start: munged did not start" >&2; _cluster_logs "$dir"
    return 1; }

  ncpu=$(nproc)
  ctld_port=$(_cluster_free_port) || return 1
  slurmd_port=$(_cluster_free_port "$ctld_port") || return 1
  : >"$dir/plugstack.conf"  # keeps the system's /etc/slurm/plugstack.conf.d out
  # Addresses are given, not looked up: a minimal root may have no /etc/hosts for "localhost".
  # linuxproc/task none: no cgroups, no systemd. MinJobAge keeps finished jobs visible to
  # scontrol. kill_invalid_depend cancels an afterok job whose dependency failed, instead of
  # leaving it pending forever. batch_sched_delay/sched_min_interval=0 schedule at once.
  # ReturnToService=2 lets the node come back after a slurmd restart without scontrol.
  # KillWait=2 (from 30; slurmd waits ~5 s anyway): a cancelled job that ignores SIGTERM is
  # SIGKILLed within cluster_stop's 10 s wait.
  cat >"$dir/slurm.conf" <<EOF || return 1
ClusterName=hamtalloc
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
MailProg=/bin/true
PlugStackConfig=$dir/plugstack.conf
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
DependencyParameters=kill_invalid_depend
MinJobAge=300
ReturnToService=2
KillWait=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$ncpu Sockets=1 CoresPerSocket=$ncpu ThreadsPerCore=1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf  # for sbatch, squeue, scontrol, sinfo
  # -N: the machine's hostname is not "localhost", so slurmd must be told which node it is.
  _cluster_spawn "$dir/log/slurmctld.out" slurmctld -D -f "$SLURM_CONF"
  _cluster_spawn "$dir/log/slurmd.out" slurmd -D -N localhost -f "$SLURM_CONF"

  # ~1 s here. A client call can block for long when something is wrong: timeout, clock deadline.
  end=$((SECONDS + 20))
  while ((SECONDS < end)); do
    state=$(timeout 5 sinfo -h -o %t 2>/dev/null) || state=""
    [[ $state == idle ]] && return 0
    for pid in $_CLUSTER_PIDS; do  # a dead daemon: fail now
      kill -0 "$pid" 2>/dev/null || { end=0; state+=" (pid $pid exited)"; }
    done
    sleep 0.2
  done
  echo "cluster_start: node not idle (sinfo: '$state')" >&2
  _cluster_logs "$dir"
  return 1
}

_cluster_tree() { local c; echo "$1"; for c in $(pgrep -P "$1"); do _cluster_tree "$c"; done; }

# This cluster's slurmstepd processes (they keep $DIR/log/slurmd.log open) and their jobs. They
# are not our children: slurmd double-forks them, and they outlive slurmd by design.
_cluster_stepds() {
  local p comm
  [[ -n $_CLUSTER_DIR ]] || return 0
  for p in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$p/comm" || continue
    [[ $comm == slurmstepd ]] || continue
    [[ $(ls -l "$p/fd" 2>/dev/null) == *" $_CLUSTER_DIR/log/"* ]] && _cluster_tree "${p#/proc/}"
  done
  return 0
}

# Cancels the jobs, then stops slurmctld, slurmd (0.1 s; slurmd first makes slurmctld hang 3 s
# on a message to it) and munged last (they need it to shut down cleanly): each TERM, KILL
# after ~5 s, reap. Idempotent, fine in an EXIT trap after a half-done cluster_start.
cluster_stop() {
  local pid end state; local -a p
  if [[ -n $_CLUSTER_PIDS ]]; then
    # Let the jobs end while all daemons are up: a stepd whose slurmd is gone hangs on forever,
    # and a slurmd still reporting a job's end to a stopped slurmctld ignores SIGTERM for 5 s.
    SLURM_CONF=$_CLUSTER_DIR/slurm.conf timeout 5 scancel -u "$(id -un)" 2>/dev/null || true
    end=$((SECONDS + 10))
    while ((SECONDS < end)); do  # until the node is neither alloc, mix nor comp(leting)
      state=$(SLURM_CONF=$_CLUSTER_DIR/slurm.conf timeout 2 sinfo -h -o %t 2>/dev/null) || break
      [[ $state =~ ^(alloc|mix|comp) || -n $(_cluster_stepds) ]] || break
      sleep 0.1
    done
  fi
  read -ra p <<<"$_CLUSTER_PIDS"
  ((${#p[@]} == 0)) || p=("${p[@]:1}" "${p[0]}")  # munged, started first, goes last
  for pid in "${p[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  _CLUSTER_PIDS=""
  for pid in $(_cluster_stepds); do kill -KILL "$pid" 2>/dev/null || true; done  # stuck ones
  return 0
}

# Waits until job $1 (all tasks of an array) has left the queue; non-zero after $2 seconds.
cluster_wait_job() {
  local job=${1:?usage: cluster_wait_job JOBID SECONDS} secs=${2:?} end out
  end=$((SECONDS + secs))
  while ((SECONDS < end)); do
    # Empty and success: gone (squeue hides finished jobs). "Invalid job id": gone and purged.
    # Any other failure (controller busy or down) must not count as done.
    out=$(timeout 5 squeue -h -j "$job" 2>&1) && [[ -z $out ]] && return 0
    [[ $out == *"Invalid job id"* ]] && return 0
    sleep 0.2
  done
  echo "cluster_wait_job: job $job still queued after $secs s" >&2
  return 1
}

# Prints the state of job $1 (e.g. COMPLETED), for an array job one line per task in task id
# order (scontrol lists them in no set order), while scontrol still knows it: MinJobAge above.
cluster_job_state() {
  scontrol -o show job "${1:?usage: cluster_job_state JOBID}" 2>/dev/null | awk '{ t = 0
    for (i = 1; i <= NF; i++) if ($i ~ /^ArrayTaskId=/) t = substr($i, 13)
      else if ($i ~ /^JobState=/) s = substr($i, 10)
    print t, s }' | sort -n | cut -d" " -f2
}
