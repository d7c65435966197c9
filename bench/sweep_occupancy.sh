#!/usr/bin/env bash
# Bench: slot occupancy and per-run parent overhead of `moexp sweep` (goals: >= 95 % busy, < 0.3 s per run).
# 24 short synthetic runs on 2 slots. Reference measured in the same run: the children's own wall time, taken
# from the attempts table (each child's life from spawn to exit, start-up included).
# Usage: bench/sweep_occupancy.sh [build/moexp]
set -euo pipefail
moexp=$(realpath "${1:-build/moexp}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/base.toml" <<'TOML'
[model]
arch = "resnet8"
[moe]
num_experts = 4
[data]
dataset = "synthetic"
synthetic_train = 128
synthetic_test = 64
synthetic_image_size = 12
[train]
epochs = 1
batch_size = 64
TOML
cat > "$work/sweep.toml" <<'TOML'
name = "occupancy"
base = "base.toml"
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
[executor]
jobs = 2
threads = 1
[grid]
"constraint.kind" = ["importance", "relative"]
TOML
start=$(date +%s.%N)
"$moexp" sweep "$work/sweep.toml" --db "$work/results/moexp.db" >/dev/null
end=$(date +%s.%N)
child=$(sqlite3 "$work/results/moexp.db" "SELECT sum(seconds) FROM attempts")
runs=$(sqlite3 "$work/results/moexp.db" "SELECT count(*) FROM attempts")
awk -v s="$start" -v e="$end" -v c="$child" -v n="$runs" 'BEGIN {
  wall = e - s; slots = 2
  printf "%-40s %10s\n", "measure", "value"
  printf "%-40s %10d\n", "runs (attempts)", n
  printf "%-40s %10.2f\n", "sweep wall time (s)", wall
  printf "%-40s %10.2f\n", "sum of child lifetimes (s, reference)", c
  printf "%-40s %10.3f\n", "mean child lifetime (s)", c / n
  printf "%-40s %9.1f%%\n", "slot occupancy (goal >= 95%)", 100 * c / (slots * wall)
  printf "%-40s %10.3f\n", "parent overhead per run (s, goal < 0.3)", (slots * wall - c) / n
}'
