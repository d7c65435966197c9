#!/bin/bash
# Stop the two-node Slurm of scripts/slurm_nodes_up.sh DIR: cancel every job, then SIGTERM both slurmd, slurmctld
# and (when the up script started it) munged by PID, SIGKILL after 10 s each. A node's namespaces go with its slurmd,
# and its veth pair with them; the host ends are deleted here in case. Usage: scripts/slurm_nodes_down.sh DIR
set -uo pipefail
DIR=$1
WHO="slurm nodes down"
# shellcheck source=scripts/slurm_common.sh
. "$(dirname "$0")/slurm_common.sh"
slurm_stop slurmd.n1 slurmd.n2 slurmctld munged
for link in mx-n1 mx-n2; do
  ip link show "$link" >/dev/null 2>&1 && ip link del "$link"
done
echo "slurm nodes down: $DIR"
