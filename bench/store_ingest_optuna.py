#!/usr/bin/python3
"""Optuna's SQLite storage recording what moexp records per epoch (the values both can hold: 8 epoch scalars and, per
split and expert, the importance and sample shares), TRIALS trials x EPOCHS epochs, the cheapest way its API allows:
per epoch one trial.report (the test accuracy, for pruning) and one set_user_attr holding the other values.
Usage: /usr/bin/python3 bench/store_ingest_optuna.py DB_PATH [trials] [epochs]   Prints "seconds S values V"."""
import os
import sys
import time

import optuna

path = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 100
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 50
if os.path.exists(path):
    os.remove(path)
optuna.logging.set_verbosity(optuna.logging.WARNING)
start = time.perf_counter()
study = optuna.create_study(storage=f"sqlite:///{path}", study_name="bench", direction="maximize")
for t in range(trials):
    trial = study.ask({"seed": optuna.distributions.IntDistribution(0, 10**6)})
    for epoch in range(1, epochs + 1):
        shares = [0.25 + 0.01 * ((e + epoch) % 3 - 1) for e in range(4)]
        trial.report(0.5 + 0.003 * epoch, epoch)
        trial.set_user_attr(f"epoch{epoch}", {
            "train_loss": 1.0 / epoch, "train_acc": 0.5 + 0.004 * epoch, "test_loss": 1.1 / epoch,
            "aux_loss": 0.01, "lr": 1e-3, "seconds": 30.0, "images_per_s": 600.0,
            "train_importance": shares, "train_samples": [2 * s for s in shares],
            "test_importance": shares, "test_samples": [2 * s for s in shares]})
    study.tell(trial, 0.5 + 0.003 * epochs)
seconds = time.perf_counter() - start
print(f"seconds {seconds:.3f} values {trials * epochs * (8 + 2 * 4 * 2)}")
