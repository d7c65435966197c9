// RunStore: runs, their parameters, classes and claims.
#include "store/run_store.hpp"

#include "core/clock.hpp"
#include "core/hash.hpp"
#include "core/host.hpp"
#include "store/sqlite.hpp"

#include <unistd.h>

#include <cstdint>

namespace moexp::store {
namespace {

const char* const kRunColumns = R"sql(
    SELECT id, name, config_toml, config_hash, status, coalesce(device, ''), coalesce(host, ''), pid, moexp_version,
           created_at, coalesce(started_at, ''), coalesce(finished_at, ''), coalesce(heartbeat_at, ''),
           wall_seconds, epochs_done, coalesce(error, ''), coalesce(uid, ''), coalesce(claim_host, ''), claim_pid,
           coalesce(claim_started, '')
    FROM runs )sql";

// The row `q` (selecting kRunColumns) is on.
RunRow read_run(const Statement& q) {
  RunRow row;
  q.read(row.id, row.name, row.config_toml, row.config_hash, row.status, row.device, row.host, row.pid,
         row.moexp_version, row.created_at, row.started_at, row.finished_at, row.heartbeat_at, row.wall_seconds,
         row.epochs_done, row.error, row.uid, row.claim_host, row.claim_pid, row.claim_started);
  return row;
}

// Insert run `id`'s classes, keeping any already recorded.
void insert_classes(Database& db, std::int64_t id, const std::vector<ClassInfo>& classes) {
  Statement cls(db, R"sql(
    INSERT OR IGNORE INTO run_classes (run_id, class, name, superclass, superclass_name) VALUES (?, ?, ?, ?, ?))sql");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    cls.reset();
    cls.bind_all(id, static_cast<std::int64_t>(c), classes[c].name, classes[c].superclass, classes[c].superclass_name);
    cls.run();
  }
}

}  // namespace

std::int64_t RunStore::create(const NewRun& run) {
  Transaction tx(m_db);
  const std::string now = core::now_iso8601();
  Statement insert(m_db, R"sql(
    INSERT INTO runs (name, config_toml, config_hash, status, device, host, pid, moexp_version,
                      created_at, started_at, heartbeat_at, uid)
    VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(run.name, run.config_toml, run.config_hash, run.device, run.host, run.pid, std::string(MOEXP_VERSION),
                  now, now, now, core::random_token());
  insert.run();
  const std::int64_t id = m_db.last_insert_rowid();
  Statement param(m_db, "INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)");
  for (const auto& [key, value] : run.params) {
    param.reset();
    param.bind_all(id, key, value);
    param.run();
  }
  insert_classes(m_db, id, run.classes);
  tx.commit();
  return id;
}

std::int64_t RunStore::create_pending(const NewRun& run) {
  const auto id = create(run);
  Statement update(m_db, "UPDATE runs SET status = 'pending', started_at = NULL, pid = NULL WHERE id = ?");
  update.bind(1, id);
  update.run();
  return id;
}

void RunStore::ensure_classes(std::int64_t id, const std::vector<ClassInfo>& classes) {
  Transaction tx(m_db);
  insert_classes(m_db, id, classes);
  tx.commit();
}

bool RunStore::claim(std::int64_t id, RunStatus status, std::optional<std::int64_t> pid,
                     std::optional<std::int64_t> claim_pid) {
  const auto self = static_cast<std::int64_t>(::getpid());
  Statement update(m_db, R"sql(
    UPDATE runs SET status = 'running', pid = NULL, heartbeat_at = ?, claim_host = ?, claim_pid = ?, claim_started = ?
    WHERE id = ? AND status = ? AND coalesce(pid, -1) = coalesce(?, -1) AND coalesce(claim_pid, -1) = coalesce(?, -1))sql");
  update.bind_all(core::now_iso8601(), core::host_name(), self, core::process_start_id(self), id, to_text(status), pid,
                  claim_pid);
  update.run();
  return m_db.changes() == 1;
}

void RunStore::release_claim(std::int64_t id) {
  Statement update(m_db, "UPDATE runs SET claim_host = NULL, claim_pid = NULL, claim_started = NULL WHERE id = ?");
  update.bind(1, id);
  update.run();
}

std::optional<RunRow> RunStore::find(std::int64_t id) {
  Statement q(m_db, std::string(kRunColumns) + "WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) {
    return std::nullopt;
  }
  return read_run(q);
}

std::optional<RunRow> RunStore::find_by_hash(const std::string& config_hash) {
  Statement q(m_db, std::string(kRunColumns) + "WHERE config_hash = ? ORDER BY id DESC LIMIT 1");
  q.bind(1, config_hash);
  if (!q.step()) {
    return std::nullopt;
  }
  return read_run(q);
}

void RunStore::finish(std::int64_t id, RunStatus status, const std::string& error) {
  Statement update(m_db, "UPDATE runs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?");
  const std::string now = core::now_iso8601();
  update.bind_all(to_text(status), error.empty() ? std::optional<std::string>() : std::optional<std::string>(error),
                  now, now, id);
  update.run();
}

std::vector<std::pair<std::string, std::string>> RunStore::params(std::int64_t id) {
  Statement q(m_db, "SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key");
  q.bind(1, id);
  return collect_rows<std::pair<std::string, std::string>>(
      q, [](const Statement& row, auto& param) { row.read(param.first, param.second); });
}

std::vector<ClassInfo> RunStore::classes(std::int64_t id) {
  Statement q(m_db, "SELECT name, superclass, superclass_name FROM run_classes WHERE run_id = ? ORDER BY class");
  q.bind(1, id);
  return collect_rows<ClassInfo>(
      q, [](const Statement& row, ClassInfo& c) { row.read(c.name, c.superclass, c.superclass_name); });
}

void RunStore::restart(std::int64_t id, std::int64_t epochs_done, const std::string& device, const std::string& host,
                       std::int64_t pid) {
  Statement update(m_db, R"sql(
    UPDATE runs SET status = 'running', device = ?, host = ?, pid = ?, heartbeat_at = ?, finished_at = NULL,
                    error = NULL, epochs_done = ?,
                    wall_seconds = coalesce((SELECT sum(value) FROM epoch_metrics
                                            WHERE run_id = ? AND split = '' AND name = 'seconds'), 0)
    WHERE id = ?)sql");
  update.bind_all(device, host, pid, core::now_iso8601(), epochs_done, id, id);
  update.run();
}

bool RunStore::claimed_by(std::int64_t id, std::int64_t claim_pid, const std::string& host) {
  Statement q(m_db, "SELECT 1 FROM runs WHERE id = ? AND claim_pid = ? AND claim_host = ?");
  q.bind_all(id, claim_pid, host);
  return q.step();
}

std::int64_t RunStore::epochs_done(std::int64_t id) {
  Statement& q = m_db.prepared("SELECT epochs_done FROM runs WHERE id = ?");
  q.bind(1, id);
  std::int64_t done = 0;
  if (q.step()) {
    q.read(done);
  }
  q.reset();
  return done;
}

void RunStore::note_epoch(std::int64_t id, std::int64_t epoch, double seconds) {
  Statement& update = m_db.prepared(R"sql(
    UPDATE runs SET epochs_done = ?, wall_seconds = wall_seconds + ?, heartbeat_at = ? WHERE id = ?)sql");
  update.bind_all(epoch, seconds, core::now_iso8601(), id);
  update.run();
}

}  // namespace moexp::store
