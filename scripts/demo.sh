#!/bin/bash
# The main job (`make demo`): train the demo experiment, then show what moexp recorded about it, through moexp's own
# commands and one SQL query against the results database. Usage: scripts/demo.sh MOEXP DB [EPOCHS]
# (EPOCHS overrides train.epochs of experiments/demo.toml; CI runs it with 1). Any failing step fails the demo.
set -euo pipefail
moexp=$1
db=$2
epochs=${3:-}

overrides=()
if [ -n "$epochs" ]; then
  overrides+=(--set "train.epochs=$epochs")
fi

"$moexp" train experiments/demo.toml --db "$db" "${overrides[@]}"
run=$(sqlite3 "$db" "SELECT max(id) FROM runs")

echo
echo "== the run in the database: moexp runs --where \"id = $run\" =="
"$moexp" runs --db "$db" --where "id = $run"

echo
echo "== its epochs, one row each (SQL against the results database, tables in docs/schema.md) =="
sqlite3 -header -column "$db" "
  SELECT epoch,
         round(max(CASE WHEN split = 'train' AND name = 'loss' THEN value END), 4) AS train_loss,
         round(max(CASE WHEN split = 'test' AND name = 'acc' THEN value END), 4) AS test_acc,
         round(max(CASE WHEN split = '' AND name = 'aux_loss' THEN value END), 4) AS aux_loss,
         round(max(CASE WHEN split = '' AND name = 'images_per_s' THEN value END)) AS images_per_s
  FROM epoch_metrics WHERE run_id = $run GROUP BY epoch ORDER BY epoch"

echo
echo "== how the trained model routes the test split: moexp evaluate $run --k all =="
"$moexp" evaluate "$run" --db "$db" --k all

echo
echo "Results: $db (tables: docs/schema.md); run files: $(dirname "$db")/runs/$run/."
echo "Next: $moexp evaluate $run --db $db --force-expert all --uniform      (each expert alone, the uniform mixture)"
echo "      $moexp train experiments/fmnist_relative.toml --set train.epochs=1   (a hard constraint)"
echo "      $moexp sweep sweeps/fmnist_cpu.toml --dry-run                         (a grid of runs)"
