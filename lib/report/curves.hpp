// Learning curves: a metric per epoch, mean ± std over the seeds of each group (finished runs only).
#pragma once

#include "report/summary.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moexp::report {

// One run's figures per epoch: metric key -> value of epoch i + 1 at [i] (nullopt where that epoch lacks it).
using EpochSeries = std::map<std::string, std::vector<std::optional<double>>>;

// The routing figures that curves derive per epoch from the stored expert shares (test split, mean over MoE layers).
const std::vector<std::string>& routing_curve_metrics();

// Run `id`'s per-epoch series from the store: every named epoch metric ("test_acc", "train_loss", "lr", ...) plus
// routing_curve_metrics() for MoE runs.
EpochSeries read_epoch_series(store::ResultStore& db, std::int64_t id);

struct Curve {
  std::vector<std::string> key_values;        // the group
  std::vector<std::optional<Stat>> by_epoch;  // [epoch - 1]: over the group's runs that have the epoch
};

struct CurveSet {
  MetricSpec metric;  // values are in its display scale
  std::vector<std::string> by;
  std::vector<Curve> curves;  // in group order (group_less)
};

// The curves of `metric` for every group of `by`, from the series of the finished runs among `runs` (runs missing
// from `series` are skipped). Throws InputError naming `metric` when no run has it per epoch.
CurveSet learning_curves(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                         const std::string& metric, const std::map<std::int64_t, EpochSeries>& series);

// Every metric key that some series has, sorted (what `--per-epoch` exports by default).
std::vector<std::string> curve_metric_keys(const std::map<std::int64_t, EpochSeries>& series);

// One row per group and epoch: the group keys, epoch, then mean, std, ci95 and n of each curve set's metric.
std::string render_curves_csv(const std::vector<CurveSet>& sets);

}  // namespace moexp::report
