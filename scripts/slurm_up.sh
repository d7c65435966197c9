#!/bin/bash
# Bring up a one-node Slurm (munged + slurmctld + slurmd) on localhost for moexp's Slurm tests.
# Usage: scripts/slurm_up.sh [DIR]   (default /tmp/moexp-slurm; needs root)
# Installs the packages when missing (--no-install-recommends; never purges anything), writes DIR/slurm.conf, starts
# the daemons in the foreground-in-background with their PIDs in DIR/*.pid, and waits until the node is idle and a
# job can run. Stop with scripts/slurm_down.sh DIR. Prints "slurm up: DIR/slurm.conf" last.
set -euo pipefail
DIR=${1:-/tmp/moexp-slurm}
CPUS=${SLURM_CI_CPUS:-4}
if [ "$(id -u)" != 0 ]; then
  echo "slurm up: skipped, needs root (the Slurm tests skip too)"; rm -f "$DIR/slurm.conf" 2>/dev/null; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES="slurmctld slurmd slurm-client munge"
missing=$(for p in $PACKAGES; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "slurm up: installing" $missing
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ -s "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
  echo "slurm up: already running ($DIR)"; echo "slurm up: $DIR/slurm.conf"; exit 0
fi
mkdir -p "$DIR"/{state,spool,log}
rm -rf "$DIR"/state/* "$DIR"/spool/* "$DIR"/log/*   # job ids restart at 1: the jobcomp file must start empty too
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
mkdir -p /run/munge; chown munge:munge /run/munge; chmod 755 /run/munge

wait_until() {  # wait_until SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
  echo "slurm up: $what did not happen within ${limit}s; logs in $DIR/log" >&2; exit 1
}
munge_works() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_works; then
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground >"$DIR/log/munged.out" 2>&1 &
  echo $! >"$DIR/munged.pid"
  wait_until 10 "munged start" munge_works
fi

cat >"$DIR/slurm.conf" <<CONF
ClusterName=moexp-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
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
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$DIR/slurm.conf
slurmctld -D -i >"$DIR/log/slurmctld.out" 2>&1 &
echo $! >"$DIR/slurmctld.pid"
slurmd -D -N localhost >"$DIR/log/slurmd.out" 2>&1 &
echo $! >"$DIR/slurmd.pid"
node_idle() { [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; }
wait_until 30 "node idle" node_idle
echo "slurm up: $DIR/slurm.conf"
