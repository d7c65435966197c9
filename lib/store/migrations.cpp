#include "store/migrations.hpp"

#include "core/error.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <vector>

namespace moexp::store {
namespace {

// Each entry moves the schema from version i to i+1. Never edit a released entry; append a new one.
const std::vector<const char*> kMigrations = {
    // 1: runs, per-epoch metrics, per-layer and per-expert routing statistics, config parameters.
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

CREATE TABLE layer_stats (
  run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch          INTEGER NOT NULL,
  split          TEXT NOT NULL CHECK (split IN ('train','test')),
  layer          INTEGER NOT NULL,
  position       INTEGER NOT NULL,
  samples        INTEGER NOT NULL,
  importance_cv  REAL NOT NULL,
  sample_cv      REAL NOT NULL,
  living_experts INTEGER NOT NULL,
  PRIMARY KEY (run_id, epoch, split, layer)
) WITHOUT ROWID;

CREATE TABLE expert_stats (
  run_id           INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch            INTEGER NOT NULL,
  split            TEXT NOT NULL CHECK (split IN ('train','test')),
  layer            INTEGER NOT NULL,
  expert           INTEGER NOT NULL,
  importance_share REAL NOT NULL,
  sample_share     REAL NOT NULL,
  PRIMARY KEY (run_id, epoch, split, layer, expert)
) WITHOUT ROWID;
)sql",
};

int user_version(Database& db) {
  Statement stmt(db, "PRAGMA user_version");
  stmt.step();
  return static_cast<int>(stmt.column_int(0));
}

} // namespace

int current_schema_version() { return static_cast<int>(kMigrations.size()); }

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

} // namespace moexp::store
