#!/bin/bash
# Training throughput: `moexp train` vs the same model, data and loop in PyTorch-Python (bench/train_reference.py,
# Debian's python3-torch = the same LibTorch 1.13), same threads, whole runs timed from outside: process start-up,
# data loading, augmentation, training, per-epoch test evaluation (and for moexp its SQLite records and checkpoints).
# Usage: bench/train_throughput.sh [build/moexp] [epochs]     Prints a table; ratio = moexp img/s / Python img/s.
set -euo pipefail
MOEXP=${1:-build/moexp}
EPOCHS=${2:-2}
THREADS=${THREADS:-2}
TRAIN=${TRAIN:-10000}
TEST=${TEST:-2000}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
$PY -c 'import torch' 2>/dev/null || { echo "train_throughput: needs python3-torch (make bench installs it)"; exit 1; }

seconds() { local s e; s=$(date +%s.%N); "$@" >"$WORK/last.log" 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

printf '%-22s %12s %12s %14s %14s %8s\n' model "moexp s" "python s" "moexp img/s" "python img/s" ratio
for model in dense moe4-k2 moe10-k1; do
  case $model in
    dense) sets=(--set moe.enabled=false); pyargs=(--experts 0) ;;
    moe4-k2) sets=(--set moe.num_experts=4 --set moe.k=2); pyargs=(--experts 4 --k 2) ;;
    moe10-k1) sets=(--set moe.num_experts=10 --set moe.k=1); pyargs=(--experts 10 --k 1) ;;
  esac
  m=$(seconds "$MOEXP" train "$HERE/../experiments/demo.toml" --db "$WORK/moexp.db" --set train.epochs="$EPOCHS" \
        --set data.limit_train="$TRAIN" --set data.limit_test="$TEST" --set train.threads="$THREADS" "${sets[@]}")
  p=$(seconds "$PY" "$HERE/train_reference.py" --epochs "$EPOCHS" --limit-train "$TRAIN" --limit-test "$TEST" \
        --threads "$THREADS" "${pyargs[@]}")
  images=$((TRAIN * EPOCHS))
  printf '%-22s %12.2f %12.2f %14.1f %14.1f %8.2f\n' "$model" "$m" "$p" "$(echo "$images / $m" | bc -l)" \
    "$(echo "$images / $p" | bc -l)" "$(echo "$p / $m" | bc -l)"
done
echo "($EPOCHS epochs on $TRAIN Fashion-MNIST images, $TEST test images per epoch, $THREADS threads; goal: ratio >= 1.2)"
