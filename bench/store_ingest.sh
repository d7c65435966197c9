#!/bin/bash
# Store ingest: moexp's ResultStore vs Optuna's SQLite storage (Debian's python3-optuna) recording the same per-epoch
# values for the same trials. Usage: bench/store_ingest.sh [build/bench/moexp_bench_store] [trials] [epochs]
set -euo pipefail
BENCH=${1:-build/bench/moexp_bench_store}
TRIALS=${2:-100}
EPOCHS=${3:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 -c 'import optuna' 2>/dev/null || { echo "store_ingest: needs python3-optuna (make bench installs it)"; exit 1; }
read -r _ m _ values _ epochs < <("$BENCH" "$WORK/moexp.db" "$TRIALS" "$EPOCHS")
read -r _ o _ _ < <(/usr/bin/python3 "$HERE/store_ingest_optuna.py" "$WORK/optuna.db" "$TRIALS" "$EPOCHS")
rows=$(sqlite3 "$WORK/moexp.db" "SELECT (SELECT count(*) FROM epoch_metrics) + (SELECT count(*) FROM routing_snapshots) +
  (SELECT count(*) FROM layer_stats) + (SELECT count(*) FROM expert_stats) + (SELECT count(*) FROM layer_groups) +
  (SELECT count(*) FROM group_expert) + (SELECT count(*) FROM coactivation)")
printf '%-28s %10s %10s %14s %14s %8s\n' "store" "moexp s" "optuna s" "moexp values/s" "optuna values/s" ratio
printf '%-28s %10.3f %10.3f %14.0f %14.0f %8.1f\n' "$TRIALS trials x $EPOCHS epochs" "$m" "$o" \
  "$(echo "$values / $m" | bc -l)" "$(echo "$values / $o" | bc -l)" "$(echo "$o / $m" | bc -l)"
echo "(same $values values in both; moexp also wrote the full routing snapshots: $rows rows in all, $(echo "$rows / $m" | bc) rows/s; goal: ratio >= 20)"
