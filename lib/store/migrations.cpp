#include "store/migrations.hpp"

#include "core/error.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <vector>

namespace moexp::store {
namespace {

// Each entry moves the schema from version i to i+1. Never edit a released entry; append a new one.
const std::vector<const char*> kMigrations = {
    // 1: runs, config parameters, class names, epoch metrics, evaluations, routing snapshots (per epoch and split,
    //    or per evaluation) with layer, expert, class x expert, superclass x expert and co-activation statistics.
    R"sql(
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  config_toml   TEXT NOT NULL,
  config_hash   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('pending','running','finished','failed','diverged','interrupted')),
  device        TEXT,
  host          TEXT,
  pid           INTEGER,
  moexp_version TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  started_at    TEXT,
  finished_at   TEXT,
  heartbeat_at  TEXT,
  wall_seconds  REAL NOT NULL DEFAULT 0,
  epochs_done   INTEGER NOT NULL DEFAULT 0,
  error         TEXT
);
CREATE INDEX runs_by_hash ON runs (config_hash);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE run_params (
  run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX run_params_by_key ON run_params (key, value);

CREATE TABLE run_classes (
  run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  class           INTEGER NOT NULL,
  name            TEXT NOT NULL,
  superclass      INTEGER NOT NULL,
  superclass_name TEXT NOT NULL,
  PRIMARY KEY (run_id, class)
) WITHOUT ROWID;

CREATE TABLE epochs (
  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch        INTEGER NOT NULL,
  train_loss   REAL,
  train_acc    REAL,
  test_loss    REAL,
  test_acc     REAL,
  aux_loss     REAL,
  lr           REAL,
  seconds      REAL,
  images_per_s REAL,
  PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;

CREATE TABLE evaluations (
  id               INTEGER PRIMARY KEY,
  run_id           INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  created_at       TEXT NOT NULL,
  checkpoint       TEXT NOT NULL,
  checkpoint_epoch INTEGER NOT NULL,
  split            TEXT NOT NULL CHECK (split IN ('train','test')),
  setting          TEXT NOT NULL,
  k                INTEGER,
  forced_expert    INTEGER,
  uniform          INTEGER NOT NULL DEFAULT 0,
  samples          INTEGER NOT NULL,
  loss             REAL NOT NULL,
  accuracy         REAL NOT NULL
);
CREATE INDEX evaluations_by_run ON evaluations (run_id);

CREATE TABLE evaluation_classes (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  class         INTEGER NOT NULL,
  samples       INTEGER NOT NULL,
  correct       INTEGER NOT NULL,
  PRIMARY KEY (evaluation_id, class)
) WITHOUT ROWID;

CREATE TABLE routing_snapshots (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch         INTEGER,
  split         TEXT NOT NULL CHECK (split IN ('train','test')),
  evaluation_id INTEGER REFERENCES evaluations (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX snapshots_by_epoch ON routing_snapshots (run_id, epoch, split) WHERE evaluation_id IS NULL;
CREATE INDEX snapshots_by_evaluation ON routing_snapshots (evaluation_id);

CREATE TABLE layer_stats (
  snapshot_id           INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer                 INTEGER NOT NULL,
  position              INTEGER NOT NULL,
  samples               INTEGER NOT NULL,
  importance_cv         REAL NOT NULL,
  sample_cv             REAL NOT NULL,
  living_experts        INTEGER NOT NULL,
  class_mi              REAL NOT NULL,
  class_mi_control      REAL NOT NULL,
  superclass_mi         REAL NOT NULL,
  superclass_mi_control REAL NOT NULL,
  sample_entropy        REAL NOT NULL,
  mean_entropy          REAL NOT NULL,
  max_share             REAL NOT NULL,
  collapsed             INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, layer)
) WITHOUT ROWID;

CREATE TABLE expert_stats (
  snapshot_id      INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer            INTEGER NOT NULL,
  expert           INTEGER NOT NULL,
  importance_share REAL NOT NULL,
  sample_share     REAL NOT NULL,
  PRIMARY KEY (snapshot_id, layer, expert)
) WITHOUT ROWID;

CREATE TABLE class_expert (
  snapshot_id INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer       INTEGER NOT NULL,
  class       INTEGER NOT NULL,
  expert      INTEGER NOT NULL,
  mean_weight REAL NOT NULL,
  PRIMARY KEY (snapshot_id, layer, class, expert)
) WITHOUT ROWID;

CREATE TABLE superclass_expert (
  snapshot_id INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer       INTEGER NOT NULL,
  superclass  INTEGER NOT NULL,
  expert      INTEGER NOT NULL,
  mean_weight REAL NOT NULL,
  PRIMARY KEY (snapshot_id, layer, superclass, expert)
) WITHOUT ROWID;

CREATE TABLE coactivation (
  snapshot_id INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer       INTEGER NOT NULL,
  expert_a    INTEGER NOT NULL,
  expert_b    INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, layer, expert_a, expert_b)
) WITHOUT ROWID;
)sql",
    // 2: sweeps, the runs each sweep planned, and every attempt at a run.
    R"sql(
CREATE TABLE sweeps (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  spec_path  TEXT NOT NULL,
  spec_hash  TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE sweep_runs (
  sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  label    TEXT NOT NULL,
  PRIMARY KEY (sweep_id, run_id)
) WITHOUT ROWID;
CREATE INDEX sweep_runs_by_run ON sweep_runs (run_id);

CREATE TABLE attempts (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  sweep_id    INTEGER REFERENCES sweeps (id) ON DELETE SET NULL,
  started_at  TEXT NOT NULL,
  ended_at    TEXT NOT NULL,
  seconds     REAL NOT NULL,
  slot        TEXT NOT NULL,
  exit_code   INTEGER,
  signal      INTEGER,
  outcome     TEXT NOT NULL,
  stderr_tail TEXT
);
CREATE INDEX attempts_by_run ON attempts (run_id);
)sql",
    // 3: Slurm array tasks a sweep submitted; open (outcome NULL) until their attempt is recorded.
    R"sql(
CREATE TABLE slurm_tasks (
  id           INTEGER PRIMARY KEY,
  array_job_id INTEGER NOT NULL,
  task_index   INTEGER NOT NULL,
  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  sweep_id     INTEGER REFERENCES sweeps (id) ON DELETE SET NULL,
  script       TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  state        TEXT NOT NULL,
  started_at   TEXT,
  ended_at     TEXT,
  outcome      TEXT
);
CREATE INDEX slurm_tasks_by_run ON slurm_tasks (run_id);
CREATE INDEX slurm_tasks_open ON slurm_tasks (sweep_id) WHERE outcome IS NULL;
)sql",
    // 4: identities. uid: a random token per run, written into its checkpoints (resume refuses a checkpoint of
    // another run or database). claim_*: the sweep process that claimed the run (host, pid, process start time), so
    // a claim whose owner died before its child started is recognised as crashed; cleared when the attempt is
    // recorded. sweep_runs.planned: whether the sweep's current spec still plans the run (0: an earlier version did).
    R"sql(
ALTER TABLE sweep_runs ADD COLUMN planned INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN uid TEXT;
ALTER TABLE runs ADD COLUMN claim_host TEXT;
ALTER TABLE runs ADD COLUMN claim_pid INTEGER;
ALTER TABLE runs ADD COLUMN claim_started TEXT;
)sql",
    // 5: named metrics. An epoch's figures become rows (run, epoch, split, name, value) of epoch_metrics instead of
    // the fixed columns of `epochs` (split 'train' / 'test', or '' for the epoch's own figures: lr, seconds,
    // images_per_s, aux_loss); an evaluation's become rows of evaluation_metrics (loss, acc, ...). metric_names lists
    // every (split, name) ever stored, so filters and reports know the names without scanning the rows. The index
    // epoch_metrics_series reads one metric's series of a run without the other metrics' rows.
    R"sql(
CREATE TABLE epoch_metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch  INTEGER NOT NULL,
  split  TEXT NOT NULL CHECK (split IN ('train','test','')),
  name   TEXT NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (run_id, epoch, split, name)
) WITHOUT ROWID;
-- One metric's series per run, in epoch order, with its values (best of a run, a filter's last value, curves).
CREATE INDEX epoch_metrics_series ON epoch_metrics (run_id, split, name, epoch, value);
INSERT INTO epoch_metrics (run_id, epoch, split, name, value)
  SELECT run_id, epoch, 'train', 'loss', train_loss FROM epochs WHERE train_loss IS NOT NULL
  UNION ALL SELECT run_id, epoch, 'train', 'acc', train_acc FROM epochs WHERE train_acc IS NOT NULL
  UNION ALL SELECT run_id, epoch, 'test', 'loss', test_loss FROM epochs WHERE test_loss IS NOT NULL
  UNION ALL SELECT run_id, epoch, 'test', 'acc', test_acc FROM epochs WHERE test_acc IS NOT NULL
  UNION ALL SELECT run_id, epoch, '', 'aux_loss', aux_loss FROM epochs WHERE aux_loss IS NOT NULL
  UNION ALL SELECT run_id, epoch, '', 'lr', lr FROM epochs WHERE lr IS NOT NULL
  UNION ALL SELECT run_id, epoch, '', 'seconds', seconds FROM epochs WHERE seconds IS NOT NULL
  UNION ALL SELECT run_id, epoch, '', 'images_per_s', images_per_s FROM epochs WHERE images_per_s IS NOT NULL;
DROP TABLE epochs;

CREATE TABLE evaluation_metrics (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  value         REAL NOT NULL,
  PRIMARY KEY (evaluation_id, name)
) WITHOUT ROWID;
INSERT INTO evaluation_metrics (evaluation_id, name, value)
  SELECT id, 'loss', loss FROM evaluations UNION ALL SELECT id, 'acc', accuracy FROM evaluations;
ALTER TABLE evaluations DROP COLUMN loss;
ALTER TABLE evaluations DROP COLUMN accuracy;

CREATE TABLE metric_names (
  split TEXT NOT NULL,
  name  TEXT NOT NULL,
  PRIMARY KEY (split, name)
) WITHOUT ROWID;
INSERT INTO metric_names (split, name) SELECT DISTINCT split, name FROM epoch_metrics;
)sql",
    // 6: group x expert routing. A routing snapshot's specialisation figures are kept per group kind (group_kinds:
    // 'class', 'superclass'; detection adds size buckets and FPN levels): layer_groups holds each layer's MI per
    // kind (formerly layer_stats.class_mi ... superclass_mi_control), group_expert the group x expert mean weights
    // (formerly class_expert and superclass_expert). Kinds are numbered so that the rows stay as small as those of
    // the tables they replace. Tokens per group are not stored: they are a property of the split's labels, the same
    // in every epoch's snapshot. epoch_metrics is rebuilt without its series index and with its split CHECK written
    // as comparisons (SQLite builds a temporary b-tree for each statement that checks a three-value IN list); a
    // run's final epoch and a metric's last value walk its primary key backwards from the run's last epoch.
    // snapshots_by_evaluation becomes partial (a training snapshot has no evaluation). Together these keep an
    // epoch's commit about as cheap as schema 4's (bench/RESULTS.md).
    R"sql(
CREATE TABLE group_kinds (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
INSERT INTO group_kinds (id, name) VALUES (1, 'class'), (2, 'superclass');

CREATE TABLE layer_groups (
  snapshot_id INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer       INTEGER NOT NULL,
  kind_id     INTEGER NOT NULL,  -- group_kinds.id (no foreign key: checking one per row costs ingest 30 %)
  mi          REAL NOT NULL,
  mi_control  REAL NOT NULL,
  PRIMARY KEY (snapshot_id, layer, kind_id)
) WITHOUT ROWID;
INSERT INTO layer_groups (snapshot_id, layer, kind_id, mi, mi_control)
  SELECT snapshot_id, layer, 1, class_mi, class_mi_control FROM layer_stats
  UNION ALL SELECT snapshot_id, layer, 2, superclass_mi, superclass_mi_control FROM layer_stats;
ALTER TABLE layer_stats DROP COLUMN class_mi;
ALTER TABLE layer_stats DROP COLUMN class_mi_control;
ALTER TABLE layer_stats DROP COLUMN superclass_mi;
ALTER TABLE layer_stats DROP COLUMN superclass_mi_control;

CREATE TABLE group_expert (
  snapshot_id INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer       INTEGER NOT NULL,
  kind_id     INTEGER NOT NULL,  -- group_kinds.id (no foreign key: checking one per row costs ingest 30 %)
  grp         INTEGER NOT NULL,
  expert      INTEGER NOT NULL,
  mean_weight REAL NOT NULL,
  PRIMARY KEY (snapshot_id, layer, kind_id, grp, expert)
) WITHOUT ROWID;
INSERT INTO group_expert (snapshot_id, layer, kind_id, grp, expert, mean_weight)
  SELECT snapshot_id, layer, 1, class, expert, mean_weight FROM class_expert
  UNION ALL SELECT snapshot_id, layer, 2, superclass, expert, mean_weight FROM superclass_expert;
DROP TABLE class_expert;
DROP TABLE superclass_expert;


CREATE TABLE epoch_metrics_v6 (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch  INTEGER NOT NULL,
  split  TEXT NOT NULL CHECK (split = 'train' OR split = 'test' OR split = ''),
  name   TEXT NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (run_id, epoch, split, name)
) WITHOUT ROWID;
INSERT INTO epoch_metrics_v6 (run_id, epoch, split, name, value)
  SELECT run_id, epoch, split, name, value FROM epoch_metrics;
DROP TABLE epoch_metrics;
ALTER TABLE epoch_metrics_v6 RENAME TO epoch_metrics;
CREATE INDEX epoch_metrics_best_test_acc ON epoch_metrics (run_id, value) WHERE split = 'test' AND name = 'acc';
DROP INDEX snapshots_by_evaluation;
CREATE INDEX snapshots_by_evaluation ON routing_snapshots (evaluation_id) WHERE evaluation_id IS NOT NULL;
)sql",
    // 7: a dead sweep costs no run. Schema 6's moexp marked a run whose sweep was killed before the run recorded an
    // end `failed` ("crashed: ...") and charged the attempt to its retry budget, so two killed sweeps left it failed
    // for good. Such runs become `interrupted` (the next sweep resumes them) and the reconciled attempts that ended
    // them `interrupted` (no budget spent).
    R"sql(
UPDATE attempts SET outcome = 'interrupted'
 WHERE slot = 'reconciled' AND outcome = 'failed'
   AND run_id IN (SELECT id FROM runs WHERE status = 'failed'
                    AND error = 'crashed: the sweep that started it was killed and the run did not end');
UPDATE runs SET status = 'interrupted',
                error = 'interrupted: the sweep that started it died before the run recorded an end; resumed by the next sweep'
 WHERE status = 'failed' AND error = 'crashed: the sweep that started it was killed and the run did not end';
)sql",
    // 8: run journals. How far each run's journal (runs/<id>/journal.bin, written by a run away from the database's
    // host) has been applied: the journal file's id, whole records and the byte after them, updated in the transaction
    // that applies them,
    // so an ingest interrupted at any point neither loses nor repeats a record.
    R"sql(
CREATE TABLE journal_ingest (
  run_id      INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  file_id     TEXT NOT NULL,  -- the journal's header id: a replaced journal is refused, not read from the offset
  records     INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  ingested_at TEXT NOT NULL
);
)sql",
    // 9: specialisation nulls (docs/algorithm.md §4.3). Per snapshot, layer and group kind: the MI against its
    // permutation null (given_id 0) and, in detection, the MI given another kind (given_id: that kind's id, the
    // level) against the same permutations made within it. `design` says what was permuted ('labels', 'units').
    // Snapshots written before have no rows here; their single-shuffle layer_groups.mi_control stays.
    R"sql(
CREATE TABLE group_nulls (
  snapshot_id  INTEGER NOT NULL REFERENCES routing_snapshots (id) ON DELETE CASCADE,
  layer        INTEGER NOT NULL,
  kind_id      INTEGER NOT NULL,  -- group_kinds.id
  given_id     INTEGER NOT NULL,  -- 0: the kind's MI; else group_kinds.id of the kind it is conditioned on
  design       TEXT NOT NULL,
  observed     REAL NOT NULL,
  null_mean    REAL NOT NULL,
  null_sd      REAL NOT NULL,
  p_value      REAL NOT NULL,
  permutations INTEGER NOT NULL,
  seed         INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, layer, kind_id, given_id)
) WITHOUT ROWID;
)sql",
};

int user_version(Database& db) {
  Statement stmt(db, "PRAGMA user_version");
  stmt.step();
  return static_cast<int>(stmt.column_int(0));
}

}  // namespace

int current_schema_version() {
  return static_cast<int>(kMigrations.size());
}

void check_readable(Database& db) {
  const int version = user_version(db);
  if (version == 0) {
    throw InputError(fmt::format("database {} is empty or not a moexp database", db.path()));
  }
  if (version > current_schema_version()) {
    throw StoreError(fmt::format("database {} has schema version {}, newer than this moexp's {}; upgrade moexp",
                                 db.path(), version, current_schema_version()));
  }
  if (version < current_schema_version()) {
    throw StoreError(
        fmt::format("database {} has schema version {}, older than this moexp's {}; a command that "
                    "writes (train, sweep) upgrades it, read-only commands never change it",
                    db.path(), version, current_schema_version()));
  }
}

void migrate(Database& db) {
  int version = user_version(db);
  if (version > current_schema_version()) {
    throw StoreError(fmt::format("database {} has schema version {}, newer than this moexp's {}; upgrade moexp",
                                 db.path(), version, current_schema_version()));
  }
  while (version < current_schema_version()) {
    Transaction tx(db);
    // Re-read inside the write lock: another process may have migrated meanwhile.
    version = user_version(db);
    if (version >= current_schema_version()) {
      break;
    }
    db.exec(kMigrations[static_cast<std::size_t>(version)]);
    db.exec(fmt::format("PRAGMA user_version = {}", version + 1));
    tx.commit();
    ++version;
  }
}

}  // namespace moexp::store
