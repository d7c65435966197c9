#!/bin/bash
# Regenerate moexp-v4.db: a database written by moexp at schema version 4 (commit named in README.md), the input of
# the schema-migration test. Usage: tests/data/schema4/make_fixture.sh BUILD_DIR (root, for the one-node Slurm).
# A tiny fake CIFAR-100 (so the superclass tables fill), a local sweep over every constraint scheme x 2 seeds plus a
# dense run, one diverged run, one interrupted run, evaluations (every k, every forced expert, uniform) and a
# one-run Slurm sweep (its slurm_tasks row). The numbers are whatever this build computes; the test compares a
# migrated database against what the same database printed before migration (expected/*.txt).
set -euo pipefail
build=$(cd "${1:?usage: make_fixture.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
moexp="$build/moexp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work/cifar" <<'PY'
import os, random, sys
out = sys.argv[1]; os.makedirs(out)
rng = random.Random(7)
# 10 fine classes in 5 superclasses, each a colour plus noise: learnable in 2 epochs, so the runs differ.
colours = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(10)]
for name, n in (("train.bin", 320), ("test.bin", 160)):
    with open(os.path.join(out, name), "wb") as f:
        for i in range(n):
            fine = rng.randrange(10)
            pixels = bytearray()
            for c in colours[fine]:
                pixels += bytes(max(0, min(255, c + rng.randrange(-60, 61))) for _ in range(1024))
            f.write(bytes([fine // 2, fine]) + pixels)
PY
cat > "$work/base.toml" <<TOML
name = "fixture"
[model]
arch = "resnet8"
[moe]
num_experts = 4
k = 2
position = 1
[constraint]
kind = "importance"
weight = 0.5
[data]
dataset = "cifar100"
path = "$work/cifar"
[train]
epochs = 2
batch_size = 64
optimizer = "adam"
lr = 2e-3
threads = 1
TOML
cat > "$work/local.toml" <<'TOML'
name = "fixture-local"
base = "base.toml"
seeds = [0, 1]
[executor]
jobs = 2
threads = 1
[grid]
"constraint.kind" = ["none", "importance", "kl", "load", "relative", "absolute"]
[[runs]]
"moe.enabled" = false
TOML
cat > "$work/slurm.toml" <<'TOML'
name = "fixture-slurm"
base = "base.toml"
[executor]
backend = "slurm"
timeout = "10m"
[slurm]
cpus_per_task = 1
[fixed]
"train.epochs" = 1
"constraint.kind" = "kl"
TOML
db="$work/results/moexp.db"
mkdir -p "$work/results"
"$moexp" sweep "$work/local.toml" --db "$db"
"$moexp" train "$work/base.toml" --db "$db" --set name=diverges --set train.optimizer=sgd --set train.lr=1e8 --set train.epochs=1 || true
"$moexp" train "$work/base.toml" --db "$db" --set name=interrupted --set train.epochs=50 & pid=$!
sleep 8; kill -TERM $pid; wait $pid || true
"$moexp" evaluate 2 --db "$db" --k all --force-expert all --uniform
"$moexp" evaluate 5 --db "$db" --split train
"$root/scripts/slurm_up.sh" /tmp/moexp-slurm-fixture
SLURM_CONF=/tmp/moexp-slurm-fixture/slurm.conf "$moexp" sweep "$work/slurm.toml" --db "$db"
"$root/scripts/slurm_down.sh" /tmp/moexp-slurm-fixture
sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
cp "$db" "$here/moexp-v4.db"
# What the released binary prints from it: the migration test expects the same after migrating.
mkdir -p "$here/expected"
cd "$work"
"$moexp" runs --db "$db" --format csv > "$here/expected/runs.csv"
for fmt in text markdown csv json latex html; do
  "$moexp" report --db "$db" --format $fmt > "$here/expected/report.$fmt" || true
done
"$moexp" report fixture-local --db "$db" --format csv > "$here/expected/report-sweep.csv"
"$moexp" sweep status fixture-local --db "$db" > "$here/expected/sweep-status.txt"
echo "fixture: $here/moexp-v4.db ($(stat -c %s "$here/moexp-v4.db") bytes)"
