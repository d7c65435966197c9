#!/bin/bash
# What the test clusters' scripts share (sourced by slurm_up.sh, slurm_nodes_up.sh and their down scripts, with
# DIR = the cluster's state folder and WHO = the name their messages start with).

# Install Debian's Slurm and munge when missing (--no-install-recommends; never purges anything).
slurm_install() {
  export DEBIAN_FRONTEND=noninteractive
  local packages="slurmctld slurmd slurm-client munge" missing
  missing=$(for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done)
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086  # one word per package
    echo "$WHO: installing" $missing
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

# wait_until SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.1 s until it succeeds; exit 1 after SECONDS.
wait_until() {
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
  echo "$WHO: $what did not happen within ${limit}s; logs in $DIR/log" >&2; exit 1
}

# Start munged (as user munge, PID in DIR/munged.pid) unless a munged already answers.
slurm_start_munge() {
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge; chown munge:munge /run/munge; chmod 755 /run/munge
  munge_works() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
  if ! munge_works; then
    setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground >"$DIR/log/munged.out" 2>&1 &
    echo $! >"$DIR/munged.pid"
    wait_until 10 "munged start" munge_works
  fi
}

# The slurm.conf lines both test clusters share: root daemons, munge, no cgroups, a 0.1 s scheduler, per-task states
# in DIR/log/jobcomp.txt once Slurm purges a job.
slurm_common_conf() {
  cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MinJobAge=300
SlurmdParameters=config_overrides
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
CONF
}

# slurm_stop DAEMON...: cancel every job, then SIGTERM each DIR/DAEMON.pid in order (SIGKILL after 10 s).
slurm_stop() {
  export SLURM_CONF=$DIR/slurm.conf
  if [ -s "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    scancel --user=root 2>/dev/null
    for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  local d p
  for d in "$@"; do
    [ -s "$DIR/$d.pid" ] || continue
    p=$(cat "$DIR/$d.pid")
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    rm -f "$DIR/$d.pid"
  done
}
