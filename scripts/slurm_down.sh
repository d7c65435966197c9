#!/bin/bash
# Stop the one-node Slurm started by scripts/slurm_up.sh DIR: cancel every job, then SIGTERM slurmd, slurmctld and
# munged by PID (SIGKILL after 10 s each). Never uninstalls anything. Usage: scripts/slurm_down.sh [DIR]
set -uo pipefail
DIR=${1:-/tmp/moexp-slurm}
export SLURM_CONF=$DIR/slurm.conf
if [ -s "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
  scancel --user=root 2>/dev/null
  for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
fi
for d in slurmd slurmctld munged; do
  [ -s "$DIR/$d.pid" ] || continue
  p=$(cat "$DIR/$d.pid")
  kill -TERM "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p"
  rm -f "$DIR/$d.pid"
done
echo "slurm down: $DIR"
