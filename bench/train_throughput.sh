#!/bin/bash
# Training throughput: `moexp train` vs the same model, data and loop in PyTorch-Python (bench/train_reference.py,
# Debian's python3-torch = the same LibTorch 1.13), same threads, whole runs timed from outside: process start-up,
# data loading, augmentation, training, per-epoch test evaluation (and for moexp its SQLite records and checkpoints).
# The two take turns, REPEATS rounds (a shared VM drifts by 10-30 % within minutes); the table shows each side's
# median and the median of the per-round ratios.
# Usage: bench/train_throughput.sh [build/moexp] [epochs]     ratio = moexp img/s / Python img/s.
set -euo pipefail
MOEXP=${1:-build/moexp}
EPOCHS=${2:-2}
THREADS=${THREADS:-2}
TRAIN=${TRAIN:-10000}
TEST=${TEST:-2000}
REPEATS=${REPEATS:-3}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
$PY -c 'import torch' 2>/dev/null || { echo "train_throughput: needs python3-torch (make bench installs it)"; exit 1; }

seconds() { local s e; s=$(date +%s.%N); "$@" >"$WORK/last.log" 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

models=(dense moe4-k2 moe10-k1)
for ((round = 1; round <= REPEATS; round++)); do
  for model in "${models[@]}"; do
    case $model in
      dense) sets=(--set moe.enabled=false); pyargs=(--experts 0) ;;
      moe4-k2) sets=(--set moe.num_experts=4 --set moe.k=2); pyargs=(--experts 4 --k 2) ;;
      moe10-k1) sets=(--set moe.num_experts=10 --set moe.k=1); pyargs=(--experts 10 --k 1) ;;
    esac
    rm -f "$WORK"/moexp.db*
    m=$(seconds "$MOEXP" train "$HERE/../experiments/demo.toml" --db "$WORK/moexp.db" --set train.epochs="$EPOCHS" \
          --set data.limit_train="$TRAIN" --set data.limit_test="$TEST" --set train.threads="$THREADS" "${sets[@]}")
    p=$(seconds "$PY" "$HERE/train_reference.py" --epochs "$EPOCHS" --limit-train "$TRAIN" --limit-test "$TEST" \
          --threads "$THREADS" "${pyargs[@]}")
    echo "$m" >>"$WORK/$model.moexp"
    echo "$p" >>"$WORK/$model.python"
    echo "$p / $m" | bc -l >>"$WORK/$model.ratio"
    printf 'round %d %-10s moexp %6.2f s  python %6.2f s  ratio %.2f\n' "$round" "$model" "$m" "$p" "$(echo "$p / $m" | bc -l)"
  done
done
images=$((TRAIN * EPOCHS))
printf '%-22s %12s %12s %14s %14s %8s %18s\n' model "moexp s" "python s" "moexp img/s" "python img/s" ratio "ratio min-max"
for model in "${models[@]}"; do
  m=$(median <"$WORK/$model.moexp")
  p=$(median <"$WORK/$model.python")
  r=$(median <"$WORK/$model.ratio")
  lo=$(sort -g "$WORK/$model.ratio" | head -1)
  hi=$(sort -g "$WORK/$model.ratio" | tail -1)
  printf '%-22s %12.2f %12.2f %14.1f %14.1f %8.2f %8.2f - %.2f\n' "$model" "$m" "$p" "$(echo "$images / $m" | bc -l)" \
    "$(echo "$images / $p" | bc -l)" "$r" "$lo" "$hi"
done
echo "($EPOCHS epochs on $TRAIN Fashion-MNIST images, $TEST test images per epoch, $THREADS threads, medians of" \
  "$REPEATS alternating rounds; goal: ratio >= 1.2)"
