// MetricStore: named figures of epochs and evaluations.
#include "store/metric_store.hpp"

#include "core/clock.hpp"
#include "store/sqlite.hpp"

#include <algorithm>
#include <cstdint>

namespace moexp::store {

void MetricStore::write_epoch(std::int64_t id, const EpochRecord& r) {
  m_registering.clear();  // names of a transaction that did not commit are registered again
  RowInserter metrics(m_db, "INSERT INTO epoch_metrics (run_id, epoch, split, name, value)", 5);
  for (const auto& m : r.metrics) {
    metrics.add(id, r.epoch, m.split, m.name, m.value);
  }
  metrics.flush();
  for (const auto& m : r.metrics) {
    if (!m_registered.count({m.split, m.name})) {
      Statement& name = m_db.prepared("INSERT OR IGNORE INTO metric_names (split, name) VALUES (?, ?)");
      name.bind_all(m.split, m.name);
      name.run();
      m_registering.emplace_back(m.split, m.name);
    }
  }
}

void MetricStore::metrics_committed() {
  m_registered.insert(m_registering.begin(), m_registering.end());
  m_registering.clear();
}

void MetricStore::drop_epoch(std::int64_t id, std::int64_t epoch) {
  Statement& drop = m_db.prepared("DELETE FROM epoch_metrics WHERE run_id = ? AND epoch = ?");
  drop.bind_all(id, epoch);
  drop.run();
}

void MetricStore::drop_after(std::int64_t id, std::int64_t keep_epochs) {
  Statement del(m_db, "DELETE FROM epoch_metrics WHERE run_id = ? AND epoch > ?");
  del.bind_all(id, keep_epochs);
  del.run();
}

std::optional<std::pair<std::int64_t, double>> MetricStore::last(std::int64_t id, const std::string& key) {
  const Metric metric = parse_metric_key(key);
  Statement& q = m_db.prepared(
      "SELECT epoch, value FROM epoch_metrics WHERE run_id = ? AND split = ? AND name = ? ORDER BY epoch DESC LIMIT 1");
  q.bind_all(id, metric.split, metric.name);
  if (!q.step()) {
    return std::nullopt;
  }
  std::pair<std::int64_t, double> last;
  q.read(last.first, last.second);
  q.reset();
  return last;
}

std::vector<EpochRecord> MetricStore::epochs(std::int64_t id) {
  Statement q(m_db, "SELECT epoch, split, name, value FROM epoch_metrics WHERE run_id = ? ORDER BY epoch, split, name");
  q.bind(1, id);
  std::vector<EpochRecord> rows;
  while (q.step()) {
    int epoch = 0;
    Metric m;
    q.read(epoch, m.split, m.name, m.value);
    if (rows.empty() || rows.back().epoch != epoch) {
      rows.emplace_back().epoch = epoch;
    }
    rows.back().metrics.push_back(std::move(m));
  }
  return rows;
}

std::vector<std::string> MetricStore::keys() {
  Statement q(m_db, "SELECT split, name FROM metric_names");
  std::vector<std::string> keys;
  while (q.step()) {
    std::string split;
    std::string name;
    q.read(split, name);
    keys.push_back(metric_key(split, name));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::int64_t MetricStore::write_evaluation(const NewEvaluation& ev) {
  Statement insert(m_db, R"sql(
    INSERT INTO evaluations (run_id, created_at, checkpoint, checkpoint_epoch, split, setting, k, forced_expert,
                             uniform, samples)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(ev.run_id, core::now_iso8601(), ev.checkpoint, ev.checkpoint_epoch, ev.split, ev.setting, ev.k,
                  ev.forced_expert, ev.uniform ? 1 : 0, ev.samples);
  insert.run();
  const std::int64_t id = m_db.last_insert_rowid();
  RowInserter metrics(m_db, "INSERT INTO evaluation_metrics (evaluation_id, name, value)", 3);
  for (const auto& [name, value] : ev.metrics) {
    metrics.add(id, name, value);
  }
  metrics.flush();
  Statement cls(m_db, "INSERT INTO evaluation_classes (evaluation_id, class, samples, correct) VALUES (?, ?, ?, ?)");
  for (std::size_t c = 0; c < ev.class_samples.size() && c < ev.class_correct.size(); ++c) {
    cls.reset();
    cls.bind_all(id, static_cast<std::int64_t>(c), ev.class_samples[c], ev.class_correct[c]);
    cls.run();
  }
  return id;
}

std::vector<EvaluationRow> MetricStore::evaluations(std::int64_t run_id) {
  Statement q(m_db, "SELECT id, setting, split, samples FROM evaluations WHERE run_id = ? ORDER BY id");
  q.bind(1, run_id);
  auto rows = collect_rows<EvaluationRow>(
      q, [](const Statement& row, EvaluationRow& e) { row.read(e.id, e.setting, e.split, e.samples); });
  Statement metrics(m_db, "SELECT name, value FROM evaluation_metrics WHERE evaluation_id = ?");
  for (auto& row : rows) {
    metrics.reset();
    metrics.bind(1, row.id);
    while (metrics.step()) {
      std::string name;
      double value = 0;
      metrics.read(name, value);
      row.metrics[name] = value;
    }
  }
  return rows;
}

}  // namespace moexp::store
