// `moexp report` and `moexp runs` as library calls (Torch-free: they never load Torch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::report {

struct ReportRequest {
  std::string sweep;                 // sweep name or spec file ("" for every run)
  std::string where;                 // filter (store/run_filter.hpp)
  std::vector<std::string> by;       // group keys (empty: default_group_keys)
  std::vector<std::string> metrics;  // metric names (empty: all)
  std::string format = "text";
  std::string out;  // file to write atomically ("" for stdout)
  std::string db_path = "results/moexp.db";
  std::vector<std::string> compare;  // two scheme names: paired comparison instead of the table
  std::string compare_all;           // a baseline scheme: every other scheme compared with it, Holm-corrected
  bool all_runs = false;             // with a sweep: also the runs its current spec no longer plans
  bool align = true;                 // align experts across seeds before averaging routing figures
  bool per_epoch = false;            // CSV of the metrics per epoch (mean, std, ci95, n per group and epoch)
};

// Group, aggregate and render; InputError for an unknown sweep, key, metric, format or a bad filter.
int run_report(const ReportRequest& request);

struct RunsRequest {
  std::string where;
  std::string sort = "id";       // a column of the listing (id, test_acc, wall_seconds, ...); "-" prefix: descending
  std::int64_t limit = 0;        // 0: all
  std::string format = "table";  // table | json | csv
  std::string db_path = "results/moexp.db";
};

// List runs with their status, key config values and headline metrics.
int run_runs(const RunsRequest& request);

}  // namespace moexp::report
