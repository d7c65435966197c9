// Grouping runs by config keys and aggregating metrics over seeds: mean, standard deviation, 95% CI, n.
#pragma once

#include "core/metric_catalog.hpp"
#include "core/task_kinds.hpp"
#include "store/result_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp::report {

using moexp::MetricSpec;

// The value of metric `name` for `run` (nullopt when the run has none, e.g. routing metrics of a dense run).
std::optional<double> metric_value(const store::RunSummary& run, const std::string& name);

// Throws InputError (naming `option`, with a did-you-mean) unless `name` is a metric of some run in `runs`, a
// catalogued metric (core/metric_catalog.hpp) or wall_seconds.
void check_metric_name(const std::vector<store::RunSummary>& runs, const std::string& name, const std::string& option);

struct Stat {
  double mean = 0;
  double std = 0;   // sample standard deviation (0 for n = 1)
  double ci95 = 0;  // half-width of the 95% confidence interval of the mean (Student t)
  double max = 0;   // the largest value
  std::int64_t n = 0;
};

// Mean, std, 95% CI and largest of `values`.
Stat aggregate(const std::vector<double>& values);

struct GroupRow {
  std::vector<std::string> key_values;     // display values of the group keys ("relative", "4")
  std::vector<std::optional<Stat>> stats;  // one per metric; over the group's finished runs
  std::int64_t runs = 0, finished = 0, failed = 0, diverged = 0, other = 0;  // other: pending/running/interrupted
};

struct ReportTable {
  std::vector<std::string> by;
  std::vector<MetricSpec> metrics;
  std::vector<GroupRow> rows;
};

// The default grouping for `runs`: constraint.kind and moe.num_experts, plus data.dataset, model.arch and
// moe.position when they take more than one value.
std::vector<std::string> default_group_keys(const std::vector<store::RunSummary>& runs);

// Group `runs` by `by` (dense runs show constraint.kind as "dense") and aggregate `metrics` over finished runs.
// Throws InputError for an unknown metric.
ReportTable summarize(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                      const std::vector<std::string>& metrics);

// Order of group rows: value by value, numbers as numbers, words as words.
bool group_less(const std::vector<std::string>& a, const std::vector<std::string>& b);

// The group of `run` under `by`: display_value of each key.
std::vector<std::string> group_key(const store::RunSummary& run, const std::vector<std::string>& by);

// A group as a caption: "constraint.kind=relative, moe.num_experts=4" ("all runs" without keys).
std::string group_caption(const std::vector<std::string>& by, const std::vector<std::string>& key);

// A config value as shown in reports: TOML text without string quotes.
std::string display_value(const store::RunSummary& run, const std::string& key);

// The task `run` trained, read from its dataset (its stored data.dataset); classification when that is unknown.
TaskKind task_of(const store::RunSummary& run);

}  // namespace moexp::report
