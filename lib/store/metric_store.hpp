// MetricStore: named figures, per epoch of a run (epoch_metrics, metric_names) and per evaluation (evaluations,
// evaluation_metrics, evaluation_classes). Part of ResultStore (result_store.hpp), over its Database.
#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace moexp::store {

class Database;

struct NewEvaluation {
  std::int64_t run_id = 0;
  std::string checkpoint;
  std::int64_t checkpoint_epoch = 0;
  std::string split;    // train | test
  std::string setting;  // "trained", "k=N", "expert=I", "uniform"
  std::optional<std::int64_t> k;
  std::optional<std::int64_t> forced_expert;
  bool uniform = false;
  std::int64_t samples = 0;
  std::map<std::string, double> metrics;  // named figures on `split`: "loss", "acc", "top5_acc", ...
  std::vector<std::int64_t> class_samples;
  std::vector<std::int64_t> class_correct;
  std::vector<LayerRouting> routing;
};

struct EvaluationRow {
  std::int64_t id = 0;
  std::string setting;
  std::string split;
  std::int64_t samples = 0;
  std::map<std::string, double> metrics;  // name -> value, as recorded
};

class MetricStore {
 public:
  explicit MetricStore(Database& db) : m_db(db) {}

  // Run `id`'s epochs in order, with their named metrics (routing is not read: see RoutingStore).
  std::vector<EpochRecord> epochs(std::int64_t id);

  // The last stored value of metric `key` ("test_acc") for run `id` and the epoch it is from, or nullopt; one short
  // walk back from the run's last epoch (for displays that redraw every second).
  std::optional<std::pair<std::int64_t, double>> last(std::int64_t id, const std::string& key);

  // The key of every metric stored for any epoch of any run ("test_acc", "lr", ...), sorted.
  std::vector<std::string> keys();

  // Run `run_id`'s evaluations in order, with their named figures.
  std::vector<EvaluationRow> evaluations(std::int64_t run_id);

  // Inside the caller's transaction: insert epoch `record.epoch`'s metrics of run `id` (drop_epoch first when the
  // epoch may be stored already). Call metrics_committed() once the transaction has committed.
  void write_epoch(std::int64_t id, const EpochRecord& record);
  void metrics_committed();

  // Inside the caller's transaction: delete run `id`'s epoch metrics of epoch `epoch` / after epoch `keep_epochs`.
  void drop_epoch(std::int64_t id, std::int64_t epoch);
  void drop_after(std::int64_t id, std::int64_t keep_epochs);

  // Inside the caller's transaction: insert evaluation `evaluation` with its figures and per-class counts (not its
  // routing: RoutingStore::write_snapshot); returns its id.
  std::int64_t write_evaluation(const NewEvaluation& evaluation);

 private:
  Database& m_db;
  std::set<std::pair<std::string, std::string>> m_registered;      // (split, name) in metric_names, this session
  std::vector<std::pair<std::string, std::string>> m_registering;  // added by the open transaction
};

}  // namespace moexp::store
