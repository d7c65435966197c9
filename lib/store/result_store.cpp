#include "store/result_store.hpp"

#include "core/clock.hpp"
#include "store/migrations.hpp"
#include "store/sqlite.hpp"

namespace moexp::store {

ResultStore::ResultStore(const std::string& path) : m_db(std::make_unique<Database>(path)) { migrate(*m_db); }

ResultStore::~ResultStore() = default;

const std::string& ResultStore::path() const { return m_db->path(); }

std::int64_t ResultStore::create_run(const NewRun& run) {
  Transaction tx(*m_db);
  const std::string now = core::now_iso8601();
  Statement insert(*m_db, R"sql(
    INSERT INTO runs (name, config_toml, config_hash, status, device, host, pid, moexp_version,
                      created_at, started_at, heartbeat_at)
    VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(run.name, run.config_toml, run.config_hash, run.device, run.host, run.pid,
                  std::string(MOEXP_VERSION), now, now, now);
  insert.run();
  const std::int64_t id = m_db->last_insert_rowid();
  Statement param(*m_db, "INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)");
  for (const auto& [key, value] : run.params) {
    param.reset();
    param.bind_all(id, key, value);
    param.run();
  }
  tx.commit();
  return id;
}

std::optional<RunRow> ResultStore::find_run(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT id, name, config_toml, config_hash, status, coalesce(device, ''), coalesce(host, ''), pid, moexp_version,
           created_at, coalesce(started_at, ''), coalesce(finished_at, ''), coalesce(heartbeat_at, ''),
           wall_seconds, epochs_done, coalesce(error, '')
    FROM runs WHERE id = ?)sql");
  q.bind(1, id);
  if (!q.step()) {
    return std::nullopt;
  }
  RunRow row;
  row.id = q.column_int(0);
  row.name = q.column_text(1);
  row.config_toml = q.column_text(2);
  row.config_hash = q.column_text(3);
  row.status = q.column_text(4);
  row.device = q.column_text(5);
  row.host = q.column_text(6);
  row.pid = q.column_optional_int(7);
  row.moexp_version = q.column_text(8);
  row.created_at = q.column_text(9);
  row.started_at = q.column_text(10);
  row.finished_at = q.column_text(11);
  row.heartbeat_at = q.column_text(12);
  row.wall_seconds = q.column_double(13);
  row.epochs_done = q.column_int(14);
  row.error = q.column_text(15);
  return row;
}

void ResultStore::resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device,
                             const std::string& host, std::int64_t pid) {
  Transaction tx(*m_db);
  for (const char* sql : {"DELETE FROM epochs WHERE run_id = ? AND epoch > ?",
                          "DELETE FROM layer_stats WHERE run_id = ? AND epoch > ?",
                          "DELETE FROM expert_stats WHERE run_id = ? AND epoch > ?"}) {
    Statement del(*m_db, sql);
    del.bind_all(id, keep_epochs);
    del.run();
  }
  Statement update(*m_db, R"sql(
    UPDATE runs SET status = 'running', device = ?, host = ?, pid = ?, heartbeat_at = ?, finished_at = NULL,
                    error = NULL, epochs_done = ?,
                    wall_seconds = coalesce((SELECT sum(seconds) FROM epochs WHERE run_id = ?), 0)
    WHERE id = ?)sql");
  update.bind_all(device, host, pid, core::now_iso8601(), keep_epochs, id, id);
  update.run();
  tx.commit();
}

void ResultStore::record_epoch(std::int64_t id, const EpochRecord& r) {
  Transaction tx(*m_db);
  Statement epoch(*m_db, R"sql(
    INSERT OR REPLACE INTO epochs (run_id, epoch, train_loss, train_acc, test_loss, test_acc, aux_loss, lr,
                                   seconds, images_per_s)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  epoch.bind_all(id, r.epoch, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.aux_loss, r.lr, r.seconds,
                 r.images_per_s);
  epoch.run();
  Statement layer(*m_db, R"sql(
    INSERT OR REPLACE INTO layer_stats (run_id, epoch, split, layer, position, samples, importance_cv, sample_cv,
                                        living_experts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  Statement expert(*m_db, R"sql(
    INSERT OR REPLACE INTO expert_stats (run_id, epoch, split, layer, expert, importance_share, sample_share)
    VALUES (?, ?, ?, ?, ?, ?, ?))sql");
  auto write_split = [&](const char* split, const std::vector<LayerRouting>& layers) {
    for (const auto& l : layers) {
      layer.reset();
      layer.bind_all(id, r.epoch, split, l.layer, l.position, l.samples, l.importance_cv, l.sample_cv,
                     l.living_experts);
      layer.run();
      for (std::size_t e = 0; e < l.importance_share.size(); ++e) {
        expert.reset();
        expert.bind_all(id, r.epoch, split, l.layer, static_cast<std::int64_t>(e), l.importance_share[e],
                        l.sample_share[e]);
        expert.run();
      }
    }
  };
  write_split("train", r.train_routing);
  write_split("test", r.test_routing);
  Statement update(*m_db, R"sql(
    UPDATE runs SET epochs_done = ?, wall_seconds = wall_seconds + ?, heartbeat_at = ? WHERE id = ?)sql");
  update.bind_all(r.epoch, r.seconds, core::now_iso8601(), id);
  update.run();
  tx.commit();
}

void ResultStore::finish_run(std::int64_t id, const std::string& status, const std::string& error) {
  Statement update(*m_db, "UPDATE runs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?");
  const std::string now = core::now_iso8601();
  update.bind_all(status, error.empty() ? std::optional<std::string>() : std::optional<std::string>(error), now, now,
                  id);
  update.run();
}

std::vector<EpochRow> ResultStore::epochs(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT epoch, train_loss, train_acc, test_loss, test_acc, aux_loss, lr, seconds, images_per_s
    FROM epochs WHERE run_id = ? ORDER BY epoch)sql");
  q.bind(1, id);
  std::vector<EpochRow> rows;
  while (q.step()) {
    rows.push_back({q.column_int(0), q.column_double(1), q.column_double(2), q.column_double(3), q.column_double(4),
                    q.column_double(5), q.column_double(6), q.column_double(7), q.column_double(8)});
  }
  return rows;
}

std::vector<LayerStatRow> ResultStore::layer_stats(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT epoch, split, layer, position, samples, importance_cv, sample_cv, living_experts
    FROM layer_stats WHERE run_id = ? ORDER BY epoch, split, layer)sql");
  q.bind(1, id);
  std::vector<LayerStatRow> rows;
  while (q.step()) {
    rows.push_back({q.column_int(0), q.column_text(1), q.column_int(2), q.column_int(3), q.column_int(4),
                    q.column_double(5), q.column_double(6), q.column_int(7)});
  }
  return rows;
}

std::vector<ExpertStatRow> ResultStore::expert_stats(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT epoch, split, layer, expert, importance_share, sample_share
    FROM expert_stats WHERE run_id = ? ORDER BY epoch, split, layer, expert)sql");
  q.bind(1, id);
  std::vector<ExpertStatRow> rows;
  while (q.step()) {
    rows.push_back(
        {q.column_int(0), q.column_text(1), q.column_int(2), q.column_int(3), q.column_double(4), q.column_double(5)});
  }
  return rows;
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
