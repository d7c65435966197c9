#!/bin/bash
# Bring up a two-node Slurm for moexp's multi-node drill: slurmctld on this host (the submit side), and two slurmd
# nodes, n1 and n2, each in its own network, mount and UTS namespaces. Each node reaches the controller over its own
# veth pair on a private subnet (10.231.1.0/24, 10.231.2.0/24; no other traffic leaves the namespaces). In the nodes'
# mount namespace RESULTS (the folder of the sweep's database) is replaced by DIR/decoy: it holds an empty decoy
# database file under the same name and bind mounts of RESULTS/runs and RESULTS/slurm, so run folders and Slurm logs
# are shared while a task that opened the database would write into the decoy.
# Usage: scripts/slurm_nodes_up.sh DIR RESULTS DB_NAME   (needs root, `unshare` and `ip`; stop with slurm_nodes_down.sh)
# Prints "slurm nodes up: DIR/slurm.conf" last; "slurm nodes: skipped, ..." (exit 0) where it cannot run.
set -euo pipefail
DIR=$1
RESULTS=$2
DB_NAME=$3
WHO="slurm nodes"
# shellcheck source=scripts/slurm_common.sh
. "$(dirname "$0")/slurm_common.sh"
if [ "$(id -u)" != 0 ]; then
  echo "slurm nodes: skipped, needs root"; exit 0
fi
for tool in unshare nsenter ip; do
  command -v "$tool" >/dev/null || { echo "slurm nodes: skipped, no $tool"; exit 0; }
done
if ! unshare --net --mount --uts true 2>/dev/null; then
  echo "slurm nodes: skipped, cannot create network, mount and UTS namespaces here"; exit 0
fi
# A cluster that did not come up is taken down again: nothing is left running.
take_down_unless_up() {
  local status=$?
  [ "$status" -eq 0 ] || "$(dirname "$0")/slurm_nodes_down.sh" "$DIR" >&2
  exit "$status"
}
trap take_down_unless_up EXIT
slurm_install
mkdir -p "$DIR"/{state,spool,log} "$DIR/decoy" "$RESULTS/runs" "$RESULTS/slurm"
rm -rf "$DIR"/state/* "$DIR"/spool/* "$DIR"/log/* "$DIR"/*.net-ready
mkdir -p "$DIR/decoy/runs" "$DIR/decoy/slurm"
: >"$DIR/decoy/$DB_NAME"
slurm_start_munge

{
  cat <<CONF
ClusterName=moexp-nodes
SlurmctldHost=ctl(10.231.1.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmdSpoolDir=$DIR/spool/%n
SlurmdPidFile=$DIR/slurmd.%n.pidfile
SlurmdLogFile=$DIR/log/slurmd.%n.log
NodeName=n1 NodeHostname=n1 NodeAddr=10.231.1.2 CPUs=2 Sockets=1 CoresPerSocket=2 RealMemory=4000 State=UNKNOWN
NodeName=n2 NodeHostname=n2 NodeAddr=10.231.2.2 CPUs=2 Sockets=1 CoresPerSocket=2 RealMemory=4000 State=UNKNOWN
PartitionName=nodes Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
CONF
  slurm_common_conf
} >"$DIR/slurm.conf"
export SLURM_CONF=$DIR/slurm.conf

# A node: namespaces first (the host then plugs in its veth), mounts once its network is up, then slurmd.
start_node() {  # start_node NAME SUBNET_INDEX
  local name=$1 index=$2
  # shellcheck disable=SC2016  # expanded by the node's shell
  unshare --net --mount --uts --propagation private bash -c '
    set -e
    name=$1 dir=$2 results=$3
    hostname "$name"
    for _ in $(seq 100); do [ -e "$dir/$name.net-ready" ] && break; sleep 0.1; done
    [ -e "$dir/$name.net-ready" ] || { echo "$name: the host never set up its network" >&2; exit 1; }
    mount --bind "$results/runs" "$dir/decoy/runs"
    mount --bind "$results/slurm" "$dir/decoy/slurm"
    mount --rbind "$dir/decoy" "$results"
    exec slurmd -D -N "$name"
  ' node "$name" "$DIR" "$RESULTS" >"$DIR/log/slurmd.$name.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/slurmd.$name.pid"
  in_own_netns() { [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ]; }
  wait_until 10 "$name's network namespace" in_own_netns  # else its veth end would be made here
  ip link add "mx-$name" type veth peer name eth0 netns "$pid"
  ip addr add "10.231.$index.1/24" dev "mx-$name"
  ip link set "mx-$name" up
  nsenter -t "$pid" -n ip link set lo up
  nsenter -t "$pid" -n ip addr add "10.231.$index.2/24" dev eth0
  nsenter -t "$pid" -n ip link set eth0 up
  nsenter -t "$pid" -n ip route add default via "10.231.$index.1"
  touch "$DIR/$name.net-ready"
}

# The controller in a UTS namespace of its own, so that its name (ctl) is the same on every machine.
unshare --uts bash -c 'hostname ctl && exec slurmctld -D -i' >"$DIR/log/slurmctld.out" 2>&1 &
echo $! >"$DIR/slurmctld.pid"
start_node n1 1
start_node n2 2
nodes_idle() { [ "$(sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ')" = "n1 idle n2 idle " ]; }
wait_until 30 "both nodes idle" nodes_idle
echo "slurm nodes up: $DIR/slurm.conf"
