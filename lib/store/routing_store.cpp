// RoutingStore: routing snapshots (per training epoch and split, or per evaluation).
#include "store/routing_store.hpp"

#include "core/error.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <map>

namespace moexp::store {

std::int64_t RoutingStore::group_kind_id(const std::string& kind) {
  // The kinds every database has since migration 6, without a lookup.
  if (kind == kClassGroup) {
    return 1;
  }
  if (kind == kSuperclassGroup) {
    return 2;
  }
  for (int attempt = 0;; ++attempt) {
    Statement& find = m_db.prepared("SELECT id FROM group_kinds WHERE name = ?");
    find.bind_all(kind);
    if (find.step()) {
      const std::int64_t id = find.column_int(0);
      find.reset();
      return id;
    }
    if (attempt > 0) {
      throw StoreError(fmt::format("database {}: group kind '{}' could not be registered", m_db.path(), kind));
    }
    Statement& add = m_db.prepared("INSERT OR IGNORE INTO group_kinds (name) VALUES (?)");
    add.bind_all(kind);
    add.run();
  }
}

void RoutingStore::write_snapshot(std::int64_t run_id, std::optional<std::int64_t> epoch, const std::string& split,
                                  std::optional<std::int64_t> evaluation_id, const std::vector<LayerRouting>& layers) {
  write_snapshots(run_id, epoch, evaluation_id, {{split, &layers}});
}

void RoutingStore::write_snapshots(std::int64_t run_id, std::optional<std::int64_t> epoch,
                                   std::optional<std::int64_t> evaluation_id,
                                   std::initializer_list<SplitRouting> splits) {
  // One set of multi-row INSERTs for all the snapshots: fewer, fuller statements than one set per snapshot.
  RowInserter layer(m_db, R"sql(
    INSERT INTO layer_stats (snapshot_id, layer, position, samples, importance_cv, sample_cv, living_experts,
                             sample_entropy, mean_entropy, max_share, collapsed))sql",
                    11);
  RowInserter expert(m_db, "INSERT INTO expert_stats (snapshot_id, layer, expert, importance_share, sample_share)", 5);
  RowInserter kinds(m_db, "INSERT INTO layer_groups (snapshot_id, layer, kind_id, mi, mi_control)", 5);
  RowInserter weights(m_db, "INSERT INTO group_expert (snapshot_id, layer, kind_id, grp, expert, mean_weight)", 6);
  RowInserter pair(m_db, "INSERT INTO coactivation (snapshot_id, layer, expert_a, expert_b, count)", 5);
  RowInserter nulls(m_db, R"sql(
    INSERT INTO group_nulls (snapshot_id, layer, kind_id, given_id, design, observed, null_mean, null_sd, p_value,
                             permutations, seed))sql",
                    11);
  std::map<std::string, std::int64_t, std::less<>> kind_ids;
  auto kind_id = [&](const std::string& name) {
    auto [it, added] = kind_ids.emplace(name, 0);
    if (added) {
      it->second = group_kind_id(name);
    }
    return it->second;
  };
  for (const auto& [split, layers_ptr] : splits) {
    const auto& layers = *layers_ptr;
    if (layers.empty()) {
      continue;
    }
    Statement& snap =
        m_db.prepared("INSERT INTO routing_snapshots (run_id, epoch, split, evaluation_id) VALUES (?, ?, ?, ?)");
    snap.bind_all(run_id, epoch, split, evaluation_id);
    snap.run();
    const std::int64_t sid = m_db.last_insert_rowid();
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
        const std::int64_t kind = kind_id(g.kind);
        kinds.add(sid, l, kind, g.mi, g.mi_control);
        const auto add_null = [&](std::int64_t given, const NullComparison& c) {
          nulls.add(sid, l, kind, given, g.null_design, c.observed, c.null_mean, c.null_sd, c.p_value, c.permutations,
                    static_cast<std::int64_t>(c.seed));
        };
        if (g.mi_null.permutations > 0) {
          add_null(0, g.mi_null);
        }
        for (const auto& c : g.given) {
          if (c.mi.permutations > 0) {
            add_null(kind_id(c.given), c.mi);
          }
        }
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
  }
  for (RowInserter* rows : {&layer, &expert, &kinds, &weights, &pair, &nulls}) {
    rows->flush();
  }
}

std::vector<LayerStatRow> RoutingStore::layer_stats(std::int64_t id) {
  std::vector<LayerStatRow> rows;
  for (const auto& snap : snapshots(id)) {
    if (!snap.epoch) {
      continue;
    }
    for (auto& lr : snapshot(snap.id)) {
      rows.push_back({*snap.epoch, snap.split, std::move(lr)});
    }
  }
  return rows;
}

std::vector<ExpertStatRow> RoutingStore::expert_stats(std::int64_t id) {
  Statement q(m_db, R"sql(
    SELECT s.epoch, s.split, x.layer, x.expert, x.importance_share, x.sample_share
    FROM expert_stats x JOIN routing_snapshots s ON s.id = x.snapshot_id
    WHERE s.run_id = ? AND s.evaluation_id IS NULL
    ORDER BY s.epoch, s.split, x.layer, x.expert)sql");
  q.bind(1, id);
  return collect_rows<ExpertStatRow>(q, [](const Statement& row, ExpertStatRow& r) {
    row.read(r.epoch, r.split, r.layer, r.expert, r.importance_share, r.sample_share);
  });
}

std::vector<SnapshotRow> RoutingStore::snapshots(std::int64_t id) {
  Statement q(m_db, R"sql(
    SELECT id, epoch, split, evaluation_id FROM routing_snapshots WHERE run_id = ?
    ORDER BY evaluation_id IS NOT NULL, epoch, split, evaluation_id)sql");
  q.bind(1, id);
  return collect_rows<SnapshotRow>(
      q, [](const Statement& row, SnapshotRow& r) { row.read(r.id, r.epoch, r.split, r.evaluation_id); });
}

std::vector<LayerRouting> RoutingStore::snapshot(std::int64_t snapshot_id) {
  std::vector<LayerRouting> layers;
  Statement q(m_db, R"sql(
    SELECT layer, position, samples, importance_cv, sample_cv, living_experts, sample_entropy, mean_entropy,
           max_share, collapsed
    FROM layer_stats WHERE snapshot_id = ? ORDER BY layer)sql");
  q.bind(1, snapshot_id);
  while (q.step()) {
    auto& lr = layers.emplace_back();
    q.read(lr.layer, lr.position, lr.samples, lr.importance_cv, lr.sample_cv, lr.living_experts, lr.sample_entropy,
           lr.mean_entropy, lr.max_share, lr.collapsed);
  }
  auto layer_of = [&](std::int64_t l) -> LayerRouting& { return layers.at(static_cast<std::size_t>(l)); };
  Statement experts(m_db, R"sql(
    SELECT layer, expert, importance_share, sample_share FROM expert_stats WHERE snapshot_id = ?
    ORDER BY layer, expert)sql");
  experts.bind(1, snapshot_id);
  while (experts.step()) {
    std::int64_t layer = 0;
    std::int64_t expert = 0;
    double importance = 0;
    double sample = 0;
    experts.read(layer, expert, importance, sample);
    auto& lr = layer_of(layer);
    lr.importance_share.push_back(importance);
    lr.sample_share.push_back(sample);
  }
  // Group kinds in the order they were first registered (class, superclass, then any other).
  Statement kinds(m_db, R"sql(
    SELECT l.layer, k.name, l.mi, l.mi_control FROM layer_groups l JOIN group_kinds k ON k.id = l.kind_id
    WHERE l.snapshot_id = ? ORDER BY l.layer, l.kind_id)sql");
  kinds.bind(1, snapshot_id);
  while (kinds.step()) {
    std::int64_t layer = 0;
    std::string kind;
    double mi = 0;
    double mi_control = 0;
    kinds.read(layer, kind, mi, mi_control);
    auto& g = layer_of(layer).group_or_add(kind);
    g.mi = mi;
    g.mi_control = mi_control;
  }
  Statement nulls(m_db, R"sql(
    SELECT n.layer, k.name, coalesce(gk.name, ''), n.design, n.observed, n.null_mean, n.null_sd, n.p_value,
           n.permutations, n.seed
    FROM group_nulls n JOIN group_kinds k ON k.id = n.kind_id LEFT JOIN group_kinds gk ON gk.id = n.given_id
    WHERE n.snapshot_id = ? ORDER BY n.layer, n.kind_id, n.given_id)sql");
  nulls.bind(1, snapshot_id);
  while (nulls.step()) {
    std::int64_t layer = 0;
    std::string kind_name;
    std::string given;
    std::string design;
    NullComparison c;
    std::int64_t seed = 0;
    nulls.read(layer, kind_name, given, design, c.observed, c.null_mean, c.null_sd, c.p_value, c.permutations, seed);
    c.seed = static_cast<std::uint64_t>(seed);
    auto& g = layer_of(layer).group_or_add(kind_name);
    g.null_design = design;
    if (given.empty()) {
      g.mi_null = c;
    } else {
      g.given.push_back({given, c});
    }
  }
  Statement weights(m_db, R"sql(
    SELECT g.layer, k.name, g.grp, g.mean_weight FROM group_expert g JOIN group_kinds k ON k.id = g.kind_id
    WHERE g.snapshot_id = ? ORDER BY g.layer, g.kind_id, g.grp, g.expert)sql");
  weights.bind(1, snapshot_id);
  std::string kind;
  while (weights.step()) {
    std::int64_t layer = 0;
    std::int64_t group = 0;
    double weight = 0;
    weights.read(layer, kind, group, weight);
    auto& rows = layer_of(layer).group_or_add(kind).group_expert;
    const auto r = static_cast<std::size_t>(group);
    if (rows.size() <= r) {
      rows.resize(r + 1);
    }
    rows[r].push_back(weight);
  }
  Statement pairs(m_db, "SELECT layer, expert_a, expert_b, count FROM coactivation WHERE snapshot_id = ?");
  pairs.bind(1, snapshot_id);
  while (pairs.step()) {
    std::int64_t layer = 0;
    std::int64_t a = 0;
    std::int64_t b = 0;
    std::int64_t count = 0;
    pairs.read(layer, a, b, count);
    auto& lr = layer_of(layer);
    const auto e = static_cast<std::int64_t>(lr.importance_share.size());
    lr.coactivation.resize(static_cast<std::size_t>(e * e), 0);
    lr.coactivation[static_cast<std::size_t>(a * e + b)] = count;
  }
  return layers;
}

void RoutingStore::drop_epoch(std::int64_t id, std::int64_t epoch) {
  Statement& drop =
      m_db.prepared("DELETE FROM routing_snapshots WHERE run_id = ? AND epoch = ? AND evaluation_id IS NULL");
  drop.bind_all(id, epoch);
  drop.run();
}

void RoutingStore::drop_after(std::int64_t id, std::int64_t keep_epochs) {
  Statement drop(m_db, "DELETE FROM routing_snapshots WHERE run_id = ? AND epoch > ? AND evaluation_id IS NULL");
  drop.bind_all(id, keep_epochs);
  drop.run();
}

}  // namespace moexp::store
