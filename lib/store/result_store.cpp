#include "store/result_store.hpp"

#include "core/atomic_file.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"
#include "core/error.hpp"
#include "store/migrations.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace moexp::store {

std::filesystem::path run_folder(const std::filesystem::path& db_path, std::int64_t run_id) {
  return db_path.parent_path() / "runs" / std::to_string(run_id);
}

std::optional<std::filesystem::path> set_aside_stale_folder(const std::filesystem::path& db_path,
                                                            std::int64_t run_id) {
  namespace fs = std::filesystem;
  const auto folder = run_folder(db_path, run_id);
  std::error_code ec;
  if (!fs::is_directory(folder, ec) || fs::is_empty(folder, ec)) {
    return std::nullopt;
  }
  auto stale = folder;
  stale += ".stale-" + core::now_iso8601();
  fs::rename(folder, stale, ec);
  if (ec) {
    throw Error(fmt::format("cannot move the stale run folder {} aside: {}", folder.string(), ec.message()));
  }
  return stale;
}

namespace {

// The database path as the user gave it, checked before SQLite sees it (SQLite would happily open "" as a temporary
// database, or /dev/null and then create /dev/null-journal).
const std::string& checked_path(const std::string& path, OpenMode mode) {
  if (path == ":memory:") {
    return path;
  }
  core::check_output_path(path, "--db");
  if (mode == OpenMode::read_only && !std::filesystem::exists(path)) {
    throw InputError(fmt::format("database {} does not exist (train or sweep first, or pass --db)", path));
  }
  return path;
}

} // namespace

ResultStore::ResultStore(const std::string& path, OpenMode mode)
    : m_db(std::make_unique<Database>(checked_path(path, mode), mode)) {
  if (mode == OpenMode::read_write) {
    migrate(*m_db);
  } else {
    check_readable(*m_db);
  }
}

ResultStore::~ResultStore() = default;
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;

const std::string& ResultStore::path() const {
  return m_db->path();
}

std::int64_t ResultStore::create_run(const NewRun& run) {
  Transaction tx(*m_db);
  const std::string now = core::now_iso8601();
  Statement insert(*m_db, R"sql(
    INSERT INTO runs (name, config_toml, config_hash, status, device, host, pid, moexp_version,
                      created_at, started_at, heartbeat_at, uid)
    VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(run.name, run.config_toml, run.config_hash, run.device, run.host, run.pid, std::string(MOEXP_VERSION),
                  now, now, now, core::random_token());
  insert.run();
  const std::int64_t id = m_db->last_insert_rowid();
  Statement param(*m_db, "INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)");
  for (const auto& [key, value] : run.params) {
    param.reset();
    param.bind_all(id, key, value);
    param.run();
  }
  Statement cls(*m_db,
                "INSERT INTO run_classes (run_id, class, name, superclass, superclass_name) VALUES (?, ?, ?, ?, ?)");
  for (std::size_t c = 0; c < run.classes.size(); ++c) {
    cls.reset();
    cls.bind_all(id, static_cast<std::int64_t>(c), run.classes[c].name, run.classes[c].superclass,
                 run.classes[c].superclass_name);
    cls.run();
  }
  tx.commit();
  return id;
}

namespace {

const char* const kRunColumns = R"sql(
    SELECT id, name, config_toml, config_hash, status, coalesce(device, ''), coalesce(host, ''), pid, moexp_version,
           created_at, coalesce(started_at, ''), coalesce(finished_at, ''), coalesce(heartbeat_at, ''),
           wall_seconds, epochs_done, coalesce(error, ''), coalesce(uid, ''), coalesce(claim_host, ''), claim_pid,
           coalesce(claim_started, '')
    FROM runs )sql";

RunRow read_run(const Statement& q) {
  RunRow row;
  q.read(row.id, row.name, row.config_toml, row.config_hash, row.status, row.device, row.host, row.pid,
         row.moexp_version, row.created_at, row.started_at, row.finished_at, row.heartbeat_at, row.wall_seconds,
         row.epochs_done, row.error, row.uid, row.claim_host, row.claim_pid, row.claim_started);
  return row;
}

} // namespace

std::optional<RunRow> ResultStore::find_run(std::int64_t id) {
  Statement q(*m_db, std::string(kRunColumns) + "WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) {
    return std::nullopt;
  }
  return read_run(q);
}

std::vector<std::string> ResultStore::integrity_problems() {
  Statement q(*m_db, "PRAGMA integrity_check");
  std::vector<std::string> problems;
  while (q.step()) {
    if (auto line = q.column_text(0); line != "ok") {
      problems.push_back(std::move(line));
    }
  }
  return problems;
}

std::optional<RunRow> ResultStore::find_run_by_hash(const std::string& config_hash) {
  Statement q(*m_db, std::string(kRunColumns) + "WHERE config_hash = ? ORDER BY id DESC LIMIT 1");
  q.bind(1, config_hash);
  if (!q.step()) {
    return std::nullopt;
  }
  return read_run(q);
}

void ResultStore::resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device,
                             const std::string& host, std::int64_t pid) {
  Transaction tx(*m_db);
  for (const char* sql : {"DELETE FROM epoch_metrics WHERE run_id = ? AND epoch > ?",
                          "DELETE FROM routing_snapshots WHERE run_id = ? AND epoch > ? AND evaluation_id IS NULL"}) {
    Statement del(*m_db, sql);
    del.bind_all(id, keep_epochs);
    del.run();
  }
  Statement update(*m_db, R"sql(
    UPDATE runs SET status = 'running', device = ?, host = ?, pid = ?, heartbeat_at = ?, finished_at = NULL,
                    error = NULL, epochs_done = ?,
                    wall_seconds = coalesce((SELECT sum(value) FROM epoch_metrics
                                            WHERE run_id = ? AND split = '' AND name = 'seconds'), 0)
    WHERE id = ?)sql");
  update.bind_all(device, host, pid, core::now_iso8601(), keep_epochs, id, id);
  update.run();
  tx.commit();
}

void ResultStore::record_epoch(std::int64_t id, const EpochRecord& r) {
  Transaction tx(*m_db);
  Statement& drop_metrics = m_db->prepared("DELETE FROM epoch_metrics WHERE run_id = ? AND epoch = ?");
  drop_metrics.bind_all(id, r.epoch);
  drop_metrics.run();
  RowInserter metrics(*m_db, "INSERT INTO epoch_metrics (run_id, epoch, split, name, value)", 5);
  for (const auto& m : r.metrics) {
    metrics.add(id, r.epoch, m.split, m.name, m.value);
  }
  metrics.flush();
  std::vector<std::pair<std::string, std::string>> new_names;
  for (const auto& m : r.metrics) {
    if (!m_registered_metrics.count({m.split, m.name})) {
      Statement& name = m_db->prepared("INSERT OR IGNORE INTO metric_names (split, name) VALUES (?, ?)");
      name.bind_all(m.split, m.name);
      name.run();
      new_names.emplace_back(m.split, m.name);
    }
  }
  for (const char* split : {"train", "test"}) {
    Statement& drop = m_db->prepared(
        "DELETE FROM routing_snapshots WHERE run_id = ? AND epoch = ? AND split = ? "
        "AND evaluation_id IS NULL");
    drop.bind_all(id, r.epoch, split);
    drop.run();
  }
  write_snapshot(id, r.epoch, "train", std::nullopt, r.train_routing);
  write_snapshot(id, r.epoch, "test", std::nullopt, r.test_routing);
  Statement& update = m_db->prepared(R"sql(
    UPDATE runs SET epochs_done = ?, wall_seconds = wall_seconds + ?, heartbeat_at = ? WHERE id = ?)sql");
  update.bind_all(r.epoch, r.find(kSecondsMetric).value_or(0.0), core::now_iso8601(), id);
  update.run();
  tx.commit();
  m_registered_metrics.insert(new_names.begin(), new_names.end());
}

void ResultStore::finish_run(std::int64_t id, RunStatus status, const std::string& error) {
  Statement update(*m_db, "UPDATE runs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?");
  const std::string now = core::now_iso8601();
  update.bind_all(to_text(status), error.empty() ? std::optional<std::string>() : std::optional<std::string>(error), now, now,
                  id);
  update.run();
}

std::optional<std::pair<std::int64_t, double>> ResultStore::last_metric(std::int64_t id, const std::string& key) {
  const Metric metric = parse_metric_key(key);
  Statement& q = m_db->prepared(
      "SELECT epoch, value FROM epoch_metrics WHERE run_id = ? AND split = ? AND name = ? ORDER BY epoch DESC LIMIT 1");
  q.bind_all(id, metric.split, metric.name);
  if (!q.step()) {
    return std::nullopt;
  }
  std::pair<std::int64_t, double> last{q.column_int(0), q.column_double(1)};
  q.reset();
  return last;
}

std::vector<EpochRecord> ResultStore::epochs(std::int64_t id) {
  Statement q(*m_db, "SELECT epoch, split, name, value FROM epoch_metrics WHERE run_id = ? ORDER BY epoch, split, name");
  q.bind(1, id);
  std::vector<EpochRecord> rows;
  while (q.step()) {
    const auto epoch = static_cast<int>(q.column_int(0));
    if (rows.empty() || rows.back().epoch != epoch) {
      rows.emplace_back().epoch = epoch;
    }
    rows.back().metrics.push_back({q.column_text(1), q.column_text(2), q.column_double(3)});
  }
  return rows;
}

std::vector<std::string> ResultStore::metric_keys() {
  Statement q(*m_db, "SELECT split, name FROM metric_names");
  std::vector<std::string> keys;
  while (q.step()) {
    keys.push_back(metric_key(q.column_text(0), q.column_text(1)));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::pair<std::string, std::string>> ResultStore::params(std::int64_t id) {
  Statement q(*m_db, "SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key");
  q.bind(1, id);
  std::vector<std::pair<std::string, std::string>> rows;
  while (q.step()) {
    rows.emplace_back(q.column_text(0), q.column_text(1));
  }
  return rows;
}

} // namespace moexp::store
