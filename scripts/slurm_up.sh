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
WHO="slurm up"
# shellcheck source=scripts/slurm_common.sh
. "$(dirname "$0")/slurm_common.sh"
slurm_install
if [ -s "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
  echo "slurm up: already running ($DIR)"; echo "slurm up: $DIR/slurm.conf"; exit 0
fi
mkdir -p "$DIR"/{state,spool,log}
rm -rf "$DIR"/state/* "$DIR"/spool/* "$DIR"/log/*   # job ids restart at 1: the jobcomp file must start empty too
slurm_start_munge

{
  cat <<CONF
ClusterName=moexp-ci
SlurmctldHost=localhost
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=$DIR/spool
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  slurm_common_conf
} >"$DIR/slurm.conf"
export SLURM_CONF=$DIR/slurm.conf
slurmctld -D -i >"$DIR/log/slurmctld.out" 2>&1 &
echo $! >"$DIR/slurmctld.pid"
slurmd -D -N localhost >"$DIR/log/slurmd.out" 2>&1 &
echo $! >"$DIR/slurmd.pid"
node_idle() { [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; }
wait_until 30 "node idle" node_idle
echo "slurm up: $DIR/slurm.conf"
