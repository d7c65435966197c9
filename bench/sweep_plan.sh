#!/usr/bin/env bash
# Bench: planning a 10,000-run sweep (issue "moexp sweep": goal < 1 s), against a reference in the same run: the
# same binary's start-up plus loading one experiment (`moexp sweep --dry-run` on a 1-run spec).
# Usage: bench/sweep_plan.sh [build/moexp]
set -euo pipefail
moexp=${1:-build/moexp}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/base.toml" <<'TOML'
[model]
arch = "resnet8"
[moe]
num_experts = 4
[data]
dataset = "synthetic"
TOML
printf 'base = "base.toml"\n' > "$work/one.toml"
cat > "$work/grid.toml" <<'TOML'
base = "base.toml"
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
[grid]
"constraint.kind" = ["none", "importance", "kl", "load", "relative"]
"moe.num_experts" = [2, 4, 6, 8, 10, 12, 14, 16, 32, 64]
"train.lr" = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001, 0.00003, 0.00001, 0.000003]
"moe.position" = [1, 2]
TOML
time_of() {  # median wall seconds of 5 runs of "$@"
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f %e "$@" >/dev/null 2>>"$work/t" || true
  done
  sort -n "$work/t" | sed -n 3p
  rm -f "$work/t"
}
ref=$(time_of "$moexp" sweep "$work/one.toml" --dry-run --db "$work/none.db")
big=$(time_of "$moexp" sweep "$work/grid.toml" --dry-run --db "$work/none.db")
runs=$("$moexp" sweep "$work/grid.toml" --dry-run --db "$work/none.db" | sed -n 1p)
echo "$runs"
printf '%-34s %8s\n' "case" "seconds"
printf '%-34s %8s\n' "1-run plan (start-up reference)" "$ref"
printf '%-34s %8s\n' "10,000-run plan" "$big"
awk -v a="$big" -v b="$ref" 'BEGIN { printf "planning cost beyond start-up: %.3f s (goal < 1 s); ratio to reference %.1fx\n", a-b, a/b }'
