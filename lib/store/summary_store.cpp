// ResultStore: run summaries for reports and listings.
#include "store/result_store.hpp"
#include "store/run_filter.hpp"
#include "store/sqlite.hpp"

namespace moexp::store {

std::vector<RunSummary> ResultStore::run_summaries(const CompiledFilter& filter, std::optional<std::int64_t> sweep_id,
                                                   bool include_unplanned) {
  const std::string last_test = R"sql(
      FROM layer_stats l JOIN routing_snapshots s ON s.id = l.snapshot_id
      WHERE s.run_id = r.id AND s.split = 'test' AND s.evaluation_id IS NULL AND s.epoch = r.epochs_done)sql";
  std::string sql = R"sql(
    SELECT r.id, r.name, r.status, r.wall_seconds, r.epochs_done,
           (SELECT e.test_acc FROM epochs e WHERE e.run_id = r.id ORDER BY e.epoch DESC LIMIT 1),
           (SELECT max(e.test_acc) FROM epochs e WHERE e.run_id = r.id),
           (SELECT e.aux_loss FROM epochs e WHERE e.run_id = r.id ORDER BY e.epoch DESC LIMIT 1),
           (SELECT avg(l.importance_cv) )sql" + last_test + R"sql(),
           (SELECT avg(l.sample_cv) )sql" + last_test + R"sql(),
           (SELECT avg(l.living_experts) )sql" + last_test + R"sql(),
           (SELECT avg(l.superclass_mi) )sql" + last_test + R"sql(),
           (SELECT avg(l.superclass_mi_control) )sql" + last_test + R"sql()
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
  while (q.step()) {
    RunSummary r;
    r.id = q.column_int(0);
    r.name = q.column_text(1);
    r.status = q.column_text(2);
    r.wall_seconds = q.column_double(3);
    r.epochs_done = q.column_int(4);
    r.test_acc = q.column_optional_double(5);
    r.best_test_acc = q.column_optional_double(6);
    r.aux_loss = q.column_optional_double(7);
    r.importance_cv = q.column_optional_double(8);
    r.sample_cv = q.column_optional_double(9);
    r.living_experts = q.column_optional_double(10);
    r.superclass_mi = q.column_optional_double(11);
    r.superclass_mi_control = q.column_optional_double(12);
    rows.push_back(std::move(r));
  }
  Statement params(*m_db, "SELECT key, value FROM run_params WHERE run_id = ?");
  for (auto& r : rows) {
    params.reset();
    params.bind(1, r.id);
    while (params.step()) {
      r.params[params.column_text(0)] = params.column_text(1);
    }
  }
  return rows;
}

} // namespace moexp::store
