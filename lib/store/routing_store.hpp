// RoutingStore: routing statistics, one snapshot per training epoch and split or per evaluation (routing_snapshots,
// layer_stats, expert_stats, layer_groups, group_expert with group_kinds, coactivation). Part of ResultStore
// (result_store.hpp), over its Database.
#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::store {

class Database;

// One routing snapshot: a training epoch's split, or an evaluation.
struct SnapshotRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> epoch;  // training snapshots
  std::string split;
  std::optional<std::int64_t> evaluation_id;  // evaluation snapshots
};

struct ExpertStatRow {
  std::int64_t epoch = 0;
  std::string split;
  std::int64_t layer = 0;
  std::int64_t expert = 0;
  double importance_share = 0;
  double sample_share = 0;
};

struct LayerStatRow {
  std::int64_t epoch = 0;
  std::string split;
  LayerRouting routing;  // the layer's full statistics
};

class RoutingStore {
 public:
  explicit RoutingStore(Database& db) : m_db(db) {}

  // Snapshots of run `id` (training epochs by epoch and split, then evaluations), and the full statistics of one.
  std::vector<SnapshotRow> snapshots(std::int64_t id);
  std::vector<LayerRouting> snapshot(std::int64_t snapshot_id);

  std::vector<LayerStatRow> layer_stats(std::int64_t id);    // training snapshots, by epoch, split, layer
  std::vector<ExpertStatRow> expert_stats(std::int64_t id);  // training snapshots, by epoch, split, layer, expert

  // Inside the caller's transaction: insert a snapshot of run `run_id` with all of `layers`' statistics (nothing
  // when `layers` is empty: a dense model).
  void write_snapshot(std::int64_t run_id, std::optional<std::int64_t> epoch, const std::string& split,
                      std::optional<std::int64_t> evaluation_id, const std::vector<LayerRouting>& layers);

  // One split's routing, as write_snapshots takes it.
  struct SplitRouting {
    std::string_view split;
    const std::vector<LayerRouting>* layers;
  };
  // write_snapshot for several splits of one epoch (or evaluation) at once, sharing its INSERTs.
  void write_snapshots(std::int64_t run_id, std::optional<std::int64_t> epoch,
                       std::optional<std::int64_t> evaluation_id, std::initializer_list<SplitRouting> splits);

  // Inside the caller's transaction: delete run `id`'s training snapshots of epoch `epoch` / after `keep_epochs`.
  void drop_epoch(std::int64_t id, std::int64_t epoch);
  void drop_after(std::int64_t id, std::int64_t keep_epochs);

 private:
  // The id of group kind `kind` in group_kinds, registered on first use (inside the caller's transaction).
  std::int64_t group_kind_id(const std::string& kind);

  Database& m_db;
};

}  // namespace moexp::store
