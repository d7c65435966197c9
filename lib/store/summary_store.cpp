// ResultStore: run summaries for reports and listings.
#include "store/result_store.hpp"
#include "store/run_filter.hpp"
#include "store/sqlite.hpp"

#include <cstdint>

namespace moexp::store {

std::vector<RunSummary> ResultStore::run_summaries(const CompiledFilter& filter, std::optional<std::int64_t> sweep_id,
                                                   bool include_unplanned) {
  const std::string last_test = R"sql(
      FROM layer_stats l JOIN routing_snapshots s ON s.id = l.snapshot_id
      WHERE s.run_id = r.id AND s.split = 'test' AND s.evaluation_id IS NULL AND s.epoch = r.epochs_done)sql";
  const std::string last_test_superclass = R"sql(
      FROM layer_groups l JOIN routing_snapshots s ON s.id = l.snapshot_id
      WHERE s.run_id = r.id AND s.split = 'test' AND s.evaluation_id IS NULL AND s.epoch = r.epochs_done
        AND l.kind_id = (SELECT id FROM group_kinds WHERE name = 'superclass'))sql";
  std::string sql = R"sql(
    SELECT r.id, r.name, r.status, r.wall_seconds, r.epochs_done,
           (SELECT avg(l.importance_cv) )sql" +
                    last_test + R"sql(),
           (SELECT avg(l.sample_cv) )sql" +
                    last_test + R"sql(),
           (SELECT avg(l.living_experts) )sql" +
                    last_test + R"sql(),
           (SELECT avg(l.mi) )sql" +
                    last_test_superclass + R"sql(),
           (SELECT avg(l.mi_control) )sql" +
                    last_test_superclass + R"sql()
    FROM runs r )sql";
  if (sweep_id) {
    sql += include_unplanned ? "JOIN sweep_runs sr ON sr.run_id = r.id AND sr.sweep_id = ? "
                             : "JOIN sweep_runs sr ON sr.run_id = r.id AND sr.sweep_id = ? AND sr.planned = 1 ";
  }
  sql += "WHERE " + filter.sql + " ORDER BY r.id";
  Statement q(*m_db, sql);
  int index = 0;
  if (sweep_id) {
    q.bind(++index, *sweep_id);
  }
  for (const auto& p : filter.params) {
    std::visit([&](const auto& v) { q.bind(++index, v); }, p);
  }
  std::vector<RunSummary> rows;
  const char* const routing_keys[] = {"importance_cv", "sample_cv", "living_experts", "superclass_mi",
                                      "superclass_mi_control"};
  while (q.step()) {
    RunSummary r;
    std::optional<double> routing[5];
    q.read(r.id, r.name, r.status, r.wall_seconds, r.epochs_done, routing[0], routing[1], routing[2], routing[3],
           routing[4]);
    for (int i = 0; i < 5; ++i) {
      if (routing[i]) {
        r.metrics[routing_keys[i]] = *routing[i];
      }
    }
    rows.push_back(std::move(r));
  }
  // The final stored epoch's named metrics, and the best test accuracy over the epochs.
  Statement last(*m_db, R"sql(
    SELECT split, name, value FROM epoch_metrics
    WHERE run_id = ?1 AND epoch = (SELECT max(epoch) FROM epoch_metrics WHERE run_id = ?1))sql");
  Statement best(*m_db, "SELECT max(value) FROM epoch_metrics WHERE run_id = ? AND split = 'test' AND name = 'acc'");
  for (auto& r : rows) {
    last.reset();
    last.bind(1, r.id);
    while (last.step()) {
      Metric m;
      last.read(m.split, m.name, m.value);
      r.metrics[metric_key(m.split, m.name)] = m.value;
    }
    best.reset();
    best.bind(1, r.id);
    std::optional<double> best_acc;
    if (best.step()) {
      best.read(best_acc);
    }
    if (best_acc) {
      r.metrics["best_test_acc"] = *best_acc;
    }
  }
  // Every group kind's MI and its control in the final test snapshot, averaged over the MoE layers: "<kind>_mi",
  // "<kind>_mi_control" (detection's level, size and class beside classification's class and superclass).
  Statement kinds(*m_db, R"sql(
    SELECT k.name, avg(l.mi), avg(l.mi_control)
    FROM layer_groups l JOIN routing_snapshots s ON s.id = l.snapshot_id JOIN group_kinds k ON k.id = l.kind_id
    WHERE s.run_id = ? AND s.split = 'test' AND s.evaluation_id IS NULL AND s.epoch = ?
    GROUP BY k.name)sql");
  for (auto& r : rows) {
    kinds.reset();
    kinds.bind_all(r.id, r.epochs_done);
    while (kinds.step()) {
      std::string kind;
      double mi = 0, control = 0;
      kinds.read(kind, mi, control);
      r.metrics[kind + "_mi"] = mi;
      r.metrics[kind + "_mi_control"] = control;
    }
  }
  // The specialisation nulls of the same snapshot (docs/algorithm.md §4.3): "<kind>_mi_null" (the null's mean) and
  // "<kind>_mi_p"; given the level, "<kind>_given_level_mi", "..._mi_null" and "..._p". Figures are averaged over
  // the MoE layers, p-values are the largest (every layer must pass).
  Statement nulls(*m_db, R"sql(
    SELECT k.name, coalesce(gk.name, ''), avg(n.observed), avg(n.null_mean), max(n.p_value)
    FROM group_nulls n JOIN routing_snapshots s ON s.id = n.snapshot_id JOIN group_kinds k ON k.id = n.kind_id
         LEFT JOIN group_kinds gk ON gk.id = n.given_id
    WHERE s.run_id = ? AND s.split = 'test' AND s.evaluation_id IS NULL AND s.epoch = ?
    GROUP BY n.kind_id, n.given_id)sql");
  for (auto& r : rows) {
    nulls.reset();
    nulls.bind_all(r.id, r.epochs_done);
    while (nulls.step()) {
      std::string kind;
      std::string given;
      double observed = 0, null_mean = 0, p = 0;
      nulls.read(kind, given, observed, null_mean, p);
      if (given.empty()) {
        r.metrics[kind + "_mi_null"] = null_mean;
        r.metrics[kind + "_mi_p"] = p;
      } else {
        const auto key = kind + "_given_" + given;
        r.metrics[key + "_mi"] = observed;
        r.metrics[key + "_mi_null"] = null_mean;
        r.metrics[key + "_p"] = p;
      }
    }
  }
  Statement params(*m_db, "SELECT key, value FROM run_params WHERE run_id = ?");
  for (auto& r : rows) {
    params.reset();
    params.bind(1, r.id);
    while (params.step()) {
      std::string key;
      std::string value;
      params.read(key, value);
      r.params[key] = std::move(value);
    }
  }
  return rows;
}

std::optional<double> RunSummary::metric(const std::string& key) const {
  auto it = metrics.find(key);
  return it == metrics.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace moexp::store
