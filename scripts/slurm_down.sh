#!/bin/bash
# Stop the one-node Slurm started by scripts/slurm_up.sh DIR: cancel every job, then SIGTERM slurmd, slurmctld and
# munged by PID (SIGKILL after 10 s each). Never uninstalls anything. Usage: scripts/slurm_down.sh [DIR]
set -uo pipefail
DIR=${1:-/tmp/moexp-slurm}
WHO="slurm down"
# shellcheck source=scripts/slurm_common.sh
. "$(dirname "$0")/slurm_common.sh"
slurm_stop slurmd slurmctld munged
echo "slurm down: $DIR"
