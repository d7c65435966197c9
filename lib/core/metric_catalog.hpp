// How metrics are shown: the title, display scale and decimals of each metric key a report, a listing or a sweep
// status can print, and the default columns of a report. Metrics not listed here (a task's own, e.g. detection's
// AP) are shown under their key. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace moexp {

struct MetricSpec {
  std::string name;   // metric key, e.g. "test_acc"
  std::string title;  // column title, e.g. "final acc (%)"
  double scale = 1;   // display factor (100 for accuracies)
  int decimals = 3;
  // A p-value: reports show the largest over seeds ("<= p": every seed's test passes at that level), not a mean.
  bool largest_over_seeds = false;
};

// The display properties of metric `key`: from the catalog when listed, else titled by the key itself (accuracies,
// keys ending in "acc", as percentages).
MetricSpec metric_spec(const std::string& key);

// Whether `key` is in the catalog (has a title of its own).
bool catalogued_metric(const std::string& key);

// The metrics a report shows when none are asked for, in order.
const std::vector<MetricSpec>& default_report_metrics();

// The metrics a report of detection runs shows when none are asked for (task_kinds.hpp's report_metrics chooses).
const std::vector<MetricSpec>& detection_report_metrics();

// The figures of an evaluation setting (named without a split: "acc", "loss", "ap"), in the order `moexp evaluate`
// shows them first, with their column titles; figures not listed follow under their names.
const std::vector<MetricSpec>& evaluation_figures();

// The display properties of evaluation figure `name` (from evaluation_figures, else titled by the name).
MetricSpec evaluation_figure_spec(const std::string& name);

// The epoch metric of runs with moe.capacity_factor: dropped (sample, expert) pairs over all pairs of the epoch.
inline constexpr const char* kDroppedShareMetric = "train_dropped_share";

// The run-level metric every run has (not a named epoch metric): the run's total training time.
inline constexpr const char* kWallSecondsMetric = "wall_seconds";

}  // namespace moexp
