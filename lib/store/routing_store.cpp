// ResultStore: routing snapshots (per training epoch and split, or per evaluation) and evaluations.
#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <map>

namespace moexp::store {

std::int64_t ResultStore::group_kind_id(const std::string& kind) {
  // The kinds every database has since migration 6, without a lookup.
  if (kind == kClassGroup) {
    return 1;
  }
  if (kind == kSuperclassGroup) {
    return 2;
  }
  for (int attempt = 0;; ++attempt) {
    Statement& find = m_db->prepared("SELECT id FROM group_kinds WHERE name = ?");
    find.bind_all(kind);
    if (find.step()) {
      const std::int64_t id = find.column_int(0);
      find.reset();
      return id;
    }
    if (attempt > 0) {
      throw StoreError(fmt::format("database {}: group kind '{}' could not be registered", m_db->path(), kind));
    }
    Statement& add = m_db->prepared("INSERT OR IGNORE INTO group_kinds (name) VALUES (?)");
    add.bind_all(kind);
    add.run();
  }
}

void ResultStore::write_snapshot(std::int64_t run_id, std::optional<std::int64_t> epoch, const std::string& split,
                                 std::optional<std::int64_t> evaluation_id, const std::vector<LayerRouting>& layers) {
  if (layers.empty()) {
    return;
  }
  Statement& snap =
      m_db->prepared("INSERT INTO routing_snapshots (run_id, epoch, split, evaluation_id) VALUES (?, ?, ?, ?)");
  snap.bind_all(run_id, epoch, split, evaluation_id);
  snap.run();
  const std::int64_t sid = m_db->last_insert_rowid();
  RowInserter layer(*m_db, R"sql(
    INSERT INTO layer_stats (snapshot_id, layer, position, samples, importance_cv, sample_cv, living_experts,
                             sample_entropy, mean_entropy, max_share, collapsed))sql",
                    11);
  RowInserter expert(*m_db, "INSERT INTO expert_stats (snapshot_id, layer, expert, importance_share, sample_share)", 5);
  RowInserter kinds(*m_db, "INSERT INTO layer_groups (snapshot_id, layer, kind_id, mi, mi_control)", 5);
  RowInserter weights(*m_db, "INSERT INTO group_expert (snapshot_id, layer, kind_id, grp, expert, mean_weight)", 6);
  std::map<std::string, std::int64_t> kind_ids;
  RowInserter pair(*m_db, "INSERT INTO coactivation (snapshot_id, layer, expert_a, expert_b, count)", 5);
  for (const auto& lr : layers) {
    const std::int64_t l = lr.layer;
    layer.add(sid, l, lr.position, lr.samples, lr.importance_cv, lr.sample_cv, lr.living_experts, lr.sample_entropy,
              lr.mean_entropy, lr.max_share, lr.collapsed ? 1 : 0);
    const auto experts = static_cast<std::int64_t>(lr.importance_share.size());
    for (std::int64_t e = 0; e < experts; ++e) {
      expert.add(sid, l, e, lr.importance_share[static_cast<std::size_t>(e)],
                 lr.sample_share[static_cast<std::size_t>(e)]);
    }
    for (const auto& g : lr.groups) {
      auto [it, added] = kind_ids.emplace(g.kind, 0);
      if (added) {
        it->second = group_kind_id(g.kind);
      }
      const std::int64_t kind = it->second;
      kinds.add(sid, l, kind, g.mi, g.mi_control);
      for (std::size_t r = 0; r < g.group_expert.size(); ++r) {
        for (std::size_t e = 0; e < g.group_expert[r].size(); ++e) {
          weights.add(sid, l, kind, static_cast<std::int64_t>(r), static_cast<std::int64_t>(e), g.group_expert[r][e]);
        }
      }
    }
    if (lr.coactivation.size() == static_cast<std::size_t>(experts * experts)) {
      for (std::int64_t a = 0; a < experts; ++a) {
        for (std::int64_t b = a + 1; b < experts; ++b) {
          pair.add(sid, l, a, b, lr.coactivation[static_cast<std::size_t>(a * experts + b)]);
        }
      }
    }
  }
  for (RowInserter* rows : {&layer, &expert, &kinds, &weights, &pair}) {
    rows->flush();
  }
}

std::int64_t ResultStore::record_evaluation(const NewEvaluation& ev) {
  Transaction tx(*m_db);
  Statement insert(*m_db, R"sql(
    INSERT INTO evaluations (run_id, created_at, checkpoint, checkpoint_epoch, split, setting, k, forced_expert,
                             uniform, samples)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(ev.run_id, core::now_iso8601(), ev.checkpoint, ev.checkpoint_epoch, ev.split, ev.setting, ev.k,
                  ev.forced_expert, ev.uniform ? 1 : 0, ev.samples);
  insert.run();
  const std::int64_t id = m_db->last_insert_rowid();
  RowInserter metrics(*m_db, "INSERT INTO evaluation_metrics (evaluation_id, name, value)", 3);
  for (const auto& [name, value] : ev.metrics) {
    metrics.add(id, name, value);
  }
  metrics.flush();
  Statement cls(*m_db, "INSERT INTO evaluation_classes (evaluation_id, class, samples, correct) VALUES (?, ?, ?, ?)");
  for (std::size_t c = 0; c < ev.class_samples.size() && c < ev.class_correct.size(); ++c) {
    cls.reset();
    cls.bind_all(id, static_cast<std::int64_t>(c), ev.class_samples[c], ev.class_correct[c]);
    cls.run();
  }
  write_snapshot(ev.run_id, std::nullopt, ev.split, id, ev.routing);
  tx.commit();
  return id;
}

std::vector<LayerStatRow> ResultStore::layer_stats(std::int64_t id) {
  std::vector<LayerStatRow> rows;
  for (const auto& snap : snapshots(id)) {
    if (!snap.epoch) {
      continue;
    }
    for (auto& lr : snapshot_routing(snap.id)) {
      rows.push_back({*snap.epoch, snap.split, std::move(lr)});
    }
  }
  return rows;
}

std::vector<ExpertStatRow> ResultStore::expert_stats(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT s.epoch, s.split, x.layer, x.expert, x.importance_share, x.sample_share
    FROM expert_stats x JOIN routing_snapshots s ON s.id = x.snapshot_id
    WHERE s.run_id = ? AND s.evaluation_id IS NULL
    ORDER BY s.epoch, s.split, x.layer, x.expert)sql");
  q.bind(1, id);
  std::vector<ExpertStatRow> rows;
  while (q.step()) {
    rows.push_back(
        {q.column_int(0), q.column_text(1), q.column_int(2), q.column_int(3), q.column_double(4), q.column_double(5)});
  }
  return rows;
}

std::vector<ClassInfo> ResultStore::classes(std::int64_t id) {
  Statement q(*m_db, "SELECT name, superclass, superclass_name FROM run_classes WHERE run_id = ? ORDER BY class");
  q.bind(1, id);
  std::vector<ClassInfo> rows;
  while (q.step()) {
    rows.push_back({q.column_text(0), q.column_int(1), q.column_text(2)});
  }
  return rows;
}

std::vector<EvaluationRow> ResultStore::evaluations(std::int64_t run_id) {
  Statement q(*m_db, "SELECT id, setting, split, samples FROM evaluations WHERE run_id = ? ORDER BY id");
  q.bind(1, run_id);
  std::vector<EvaluationRow> rows;
  while (q.step()) {
    rows.push_back({q.column_int(0), q.column_text(1), q.column_text(2), q.column_int(3), {}});
  }
  Statement metrics(*m_db, "SELECT name, value FROM evaluation_metrics WHERE evaluation_id = ?");
  for (auto& row : rows) {
    metrics.reset();
    metrics.bind(1, row.id);
    while (metrics.step()) {
      row.metrics[metrics.column_text(0)] = metrics.column_double(1);
    }
  }
  return rows;
}

std::vector<SnapshotRow> ResultStore::snapshots(std::int64_t id) {
  Statement q(*m_db, R"sql(
    SELECT id, epoch, split, evaluation_id FROM routing_snapshots WHERE run_id = ?
    ORDER BY evaluation_id IS NOT NULL, epoch, split, evaluation_id)sql");
  q.bind(1, id);
  std::vector<SnapshotRow> rows;
  while (q.step()) {
    rows.push_back({q.column_int(0), q.column_optional_int(1), q.column_text(2), q.column_optional_int(3)});
  }
  return rows;
}

std::vector<LayerRouting> ResultStore::snapshot_routing(std::int64_t snapshot_id) {
  std::vector<LayerRouting> layers;
  Statement q(*m_db, R"sql(
    SELECT layer, position, samples, importance_cv, sample_cv, living_experts, sample_entropy, mean_entropy,
           max_share, collapsed
    FROM layer_stats WHERE snapshot_id = ? ORDER BY layer)sql");
  q.bind(1, snapshot_id);
  while (q.step()) {
    LayerRouting lr;
    lr.layer = static_cast<int>(q.column_int(0));
    lr.position = static_cast<int>(q.column_int(1));
    lr.samples = q.column_int(2);
    lr.importance_cv = q.column_double(3);
    lr.sample_cv = q.column_double(4);
    lr.living_experts = static_cast<int>(q.column_int(5));
    lr.sample_entropy = q.column_double(6);
    lr.mean_entropy = q.column_double(7);
    lr.max_share = q.column_double(8);
    lr.collapsed = q.column_int(9) != 0;
    layers.push_back(std::move(lr));
  }
  auto layer_of = [&](std::int64_t l) -> LayerRouting& { return layers.at(static_cast<std::size_t>(l)); };
  Statement experts(*m_db, R"sql(
    SELECT layer, expert, importance_share, sample_share FROM expert_stats WHERE snapshot_id = ?
    ORDER BY layer, expert)sql");
  experts.bind(1, snapshot_id);
  while (experts.step()) {
    auto& lr = layer_of(experts.column_int(0));
    lr.importance_share.push_back(experts.column_double(2));
    lr.sample_share.push_back(experts.column_double(3));
  }
  // Group kinds in the order they were first registered (class, superclass, then any other).
  Statement kinds(*m_db, R"sql(
    SELECT l.layer, k.name, l.mi, l.mi_control FROM layer_groups l JOIN group_kinds k ON k.id = l.kind_id
    WHERE l.snapshot_id = ? ORDER BY l.layer, l.kind_id)sql");
  kinds.bind(1, snapshot_id);
  while (kinds.step()) {
    auto& g = layer_of(kinds.column_int(0)).group_or_add(kinds.column_text(1));
    g.mi = kinds.column_double(2);
    g.mi_control = kinds.column_double(3);
  }
  Statement weights(*m_db, R"sql(
    SELECT g.layer, k.name, g.grp, g.mean_weight FROM group_expert g JOIN group_kinds k ON k.id = g.kind_id
    WHERE g.snapshot_id = ? ORDER BY g.layer, g.kind_id, g.grp, g.expert)sql");
  weights.bind(1, snapshot_id);
  while (weights.step()) {
    auto& rows = layer_of(weights.column_int(0)).group_or_add(weights.column_text(1)).group_expert;
    const auto r = static_cast<std::size_t>(weights.column_int(2));
    if (rows.size() <= r) {
      rows.resize(r + 1);
    }
    rows[r].push_back(weights.column_double(3));
  }
  Statement pairs(*m_db, "SELECT layer, expert_a, expert_b, count FROM coactivation WHERE snapshot_id = ?");
  pairs.bind(1, snapshot_id);
  while (pairs.step()) {
    auto& lr = layer_of(pairs.column_int(0));
    const auto e = static_cast<std::int64_t>(lr.importance_share.size());
    lr.coactivation.resize(static_cast<std::size_t>(e * e), 0);
    lr.coactivation[static_cast<std::size_t>(pairs.column_int(1) * e + pairs.column_int(2))] = pairs.column_int(3);
  }
  return layers;
}

} // namespace moexp::store
