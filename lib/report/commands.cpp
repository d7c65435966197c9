#include "report/commands.hpp"

#include "config/schema.hpp"
#include "config/sweep_spec.hpp"
#include "core/atomic_file.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"
#include "report/compare.hpp"
#include "report/curves.hpp"
#include "report/group_figures.hpp"
#include "report/render.hpp"
#include "report/summary.hpp"
#include "store/run_filter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>

namespace moexp::report {
namespace fs = std::filesystem;
namespace {

// Reading commands never create, migrate or write the database (it may sit in a read-only folder).
store::ResultStore open_store(const std::string& path) {
  return store::ResultStore(path, store::OpenMode::read_only);
}

// A group key must be a config key (or moe.enabled); anything else would group every run under "-".
void check_group_keys(const std::vector<std::string>& by) {
  for (const auto& key : by) {
    if (config::find_key(key) == nullptr && key != "moe.enabled") {
      throw InputError(fmt::format("report: --by {}: {}", key, config::unknown_key_message(key)));
    }
  }
}

std::string fmt_opt(const std::optional<double>& v, double scale, int decimals) {
  return v ? fmt::format("{:.{}f}", *v * scale, decimals) : "-";
}

std::string json_opt(const std::optional<double>& v) {
  return v ? core::json_number(*v) : "null";
}

// Every finished run's per-epoch series (what learning curves are drawn from).
std::map<std::int64_t, EpochSeries> read_series(store::ResultStore& db, const std::vector<store::RunSummary>& runs) {
  std::map<std::int64_t, EpochSeries> series;
  for (const auto& r : runs) {
    if (r.status == RunStatus::finished) {
      series[r.id] = read_epoch_series(db, r.id);
    }
  }
  return series;
}

// The curves the HTML page draws: the first chosen metric, test accuracy (classification) or test AP (detection) and
// importance CV, where some finished run records them per epoch.
std::vector<CurveSet> page_curves(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                                  const std::vector<std::string>& metrics,
                                  const std::map<std::int64_t, EpochSeries>& series) {
  const auto recorded = curve_metric_keys(series);
  std::vector<std::string> wanted{metrics.empty() || metrics.front() == "best_test_acc" ? "test_acc" : metrics.front()};
  std::vector<std::string> keys;  // every task's headline metric, then importance CV
  for (const auto& task : kTasks) {
    keys.emplace_back(task.primary_metric);
  }
  keys.emplace_back("importance_cv");
  for (const auto& key : keys) {
    if (std::find(wanted.begin(), wanted.end(), key) == wanted.end()) {
      wanted.push_back(key);
    }
  }
  std::vector<CurveSet> sets;
  for (const auto& m : wanted) {
    if (std::find(recorded.begin(), recorded.end(), m) != recorded.end()) {
      sets.push_back(learning_curves(runs, by, m, series));
    }
  }
  return sets;
}

}  // namespace

int run_report(const ReportRequest& req) {
  check_group_keys(req.by);
  const ReportFormat* format = find_report_format(req.format);
  if (format == nullptr) {
    throw InputError(fmt::format("report: --format {}: use {}", req.format, core::join_alternatives(report_formats())));
  }
  if (!req.out.empty()) {
    core::check_output_path(req.out, "--out");
  }
  auto db = open_store(req.db_path);
  std::optional<std::int64_t> sweep_id;
  std::string title = "moexp report";
  if (!req.sweep.empty()) {
    std::string name = req.sweep;
    if (fs::is_regular_file(req.sweep)) {
      name = config::load_sweep_spec(req.sweep).name;
    }
    sweep_id = db.sweeps().find(name);
    if (!sweep_id) {
      throw InputError(fmt::format("report: no sweep '{}' in {}", name, req.db_path));
    }
    title = fmt::format("moexp report: sweep {}", name);
  }
  const auto filter = store::compile_filter(req.where, db.metrics().keys());
  const auto runs = db.run_summaries(filter, sweep_id, req.all_runs);
  if (runs.empty()) {
    throw InputError("report: no runs match");
  }
  std::vector<std::string> metrics = req.metrics;
  // The runs' task decides the default columns: a report of detection runs only leads with AP, any other with
  // accuracy (a report mixing tasks shows the classification columns; --metrics chooses others).
  const bool all_detection = std::all_of(runs.begin(), runs.end(),
                                         [](const store::RunSummary& r) { return task_of(r) == TaskKind::detection; });
  const auto& task = task_info(all_detection ? TaskKind::detection : TaskKind::classification);
  const std::string primary = !req.metrics.empty() ? req.metrics.front() : std::string(task.primary_metric);
  if (metrics.empty()) {
    for (const auto& m : report_metrics(task.id)) {
      metrics.push_back(m.name);
    }
    // Runs with a capacity (moe.capacity_factor) drop pairs, which must never go unseen: their share joins the
    // defaults, before the time.
    if (std::any_of(runs.begin(), runs.end(),
                    [](const store::RunSummary& r) { return r.metrics.count(kDroppedShareMetric) > 0; })) {
      metrics.insert(metrics.end() - (metrics.back() == kWallSecondsMetric ? 1 : 0), kDroppedShareMetric);
    }
  }
  const auto by = req.by.empty() ? default_group_keys(runs) : req.by;
  std::string text;
  if (!req.compare.empty() && !req.compare_all.empty()) {
    throw InputError("report: --compare and --compare-all exclude each other");
  }
  if (!req.compare_all.empty()) {
    if (!format->compare) {
      throw InputError("report: --compare-all prints text or markdown");
    }
    text = render_compare(compare_all_schemes(runs, by, req.compare_all, primary), format->name == "markdown");
  } else if (!req.compare.empty()) {
    if (req.compare.size() != 2) {
      throw InputError("report: --compare takes two schemes, e.g. --compare importance relative");
    }
    if (!format->compare) {
      std::vector<std::string> names;
      for (const auto& f : report_format_table()) {
        if (f.compare) {
          names.emplace_back(f.name);
        }
      }
      throw InputError(fmt::format("report: --compare prints {}", core::join_alternatives(names, false)));
    }
    text =
        render_compare(compare_schemes(runs, by, req.compare[0], req.compare[1], primary), format->name == "markdown");
  } else if (req.per_epoch) {
    if (format->name != "csv") {
      throw InputError("report: --per-epoch exports CSV: add --format csv");
    }
    const auto series = read_series(db, runs);
    std::vector<CurveSet> sets;
    for (const auto& m : req.metrics.empty() ? curve_metric_keys(series) : req.metrics) {
      sets.push_back(learning_curves(runs, by, m, series));
    }
    text = render_curves_csv(sets);
  } else {
    const auto table = summarize(runs, by, metrics);
    ReportFigures figures;
    if (format->figures) {
      figures.groups = group_figures(db, runs, by, req.align);
      if (format->name == "html") {
        figures.curves = page_curves(runs, by, req.metrics, read_series(db, runs));
        figures.galleries = load_group_galleries(req.db_path, figures.groups);
      }
    }
    text = render(table, req.format, title, figures);
  }
  if (req.out.empty()) {
    fmt::print("{}", text);
  } else {
    core::write_file_atomic(req.out, text);
    fmt::print("report: {} runs summarised in {}\n", runs.size(), req.out);
  }
  return 0;
}

int run_runs(const RunsRequest& req) {
  if (req.limit < 0) {
    throw InputError(fmt::format("runs: --limit {}: expected a number of runs >= 0 (0: all)", req.limit));
  }
  if (req.format != "table" && req.format != "json" && req.format != "csv") {
    throw InputError(fmt::format("runs: --format {}: use table, json or csv", req.format));
  }
  auto db = open_store(req.db_path);
  auto runs = db.run_summaries(store::compile_filter(req.where, db.metrics().keys()), std::nullopt);
  std::string key = req.sort;
  const bool descending = !key.empty() && key.front() == '-';
  if (descending) {
    key = key.substr(1);
  }
  auto sort_value = [&](const store::RunSummary& r) -> std::pair<double, std::string> {
    if (key == "id")
      return {static_cast<double>(r.id), ""};
    if (key == "name")
      return {0, r.name};
    if (key == "status")
      return {0, std::string(to_text(r.status))};
    if (auto v = metric_value(r, key))
      return {*v, ""};
    if (r.params.count(key)) {
      char* end = nullptr;
      const double d = std::strtod(r.params.at(key).c_str(), &end);
      return *end == '\0' ? std::pair{d, std::string()} : std::pair{0.0, r.params.at(key)};
    }
    return {-1e300, ""};
  };
  if (key != "id" && key != "name" && key != "status" && config::find_key(key) == nullptr &&
      std::none_of(runs.begin(), runs.end(), [&](const auto& r) { return r.params.count(key) > 0; }) && !runs.empty()) {
    check_metric_name(runs, key, "runs: --sort");
  }
  std::stable_sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
    return descending ? sort_value(b) < sort_value(a) : sort_value(a) < sort_value(b);
  });
  if (req.limit > 0 && static_cast<std::size_t>(req.limit) < runs.size()) {
    runs.resize(static_cast<std::size_t>(req.limit));
  }
  const std::vector<std::string> keys{"data.dataset", "model.arch",   "constraint.kind", "moe.num_experts",
                                      "moe.k",        "moe.position", "train.seed"};
  if (req.format == "json") {
    std::vector<std::string> rows;
    for (const auto& r : runs) {
      std::vector<std::string> cfg;
      for (const auto& k : keys) {
        cfg.push_back(fmt::format("{}: {}", core::json_string(k), core::json_string(display_value(r, k))));
      }
      rows.push_back(
          fmt::format("{{\"id\": {}, \"name\": {}, \"status\": {}, \"epochs\": {}, \"test_acc\": {}, "
                      "\"best_test_acc\": {}, \"wall_seconds\": {}, \"config\": {{{}}}}}",
                      r.id, core::json_string(r.name), core::json_string(to_text(r.status)), r.epochs_done,
                      json_opt(r.metric("test_acc")), json_opt(r.metric("best_test_acc")),
                      core::json_number(r.wall_seconds), fmt::join(cfg, ", ")));
    }
    fmt::print("[{}]\n", fmt::join(rows, ",\n "));
    return 0;
  }
  // Detection runs: their final test AP in a column of its own, and their MoE head under "pos".
  const bool any_ap =
      std::any_of(runs.begin(), runs.end(), [](const auto& r) { return task_of(r) == TaskKind::detection; });
  std::vector<std::string> head{"id", "status", "dataset", "arch",   "constraint", "E",
                                "k",  "pos",    "seed",    "epochs", "test acc",   "best acc"};
  if (any_ap) {
    head.emplace_back("test AP");
  }
  head.insert(head.end(), {"time", "name"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    std::vector<std::string> cells{std::to_string(r.id), std::string(to_text(r.status))};
    for (const auto& k : keys) {
      const auto value = display_value(r, k);
      const auto head_value = k == "moe.position" && value == "-" ? display_value(r, "moe.head") : "-";
      cells.push_back(head_value != "-" ? head_value : value);
    }
    cells.insert(cells.end(), {std::to_string(r.epochs_done), fmt_opt(r.metric("test_acc"), 100, 2),
                               fmt_opt(r.metric("best_test_acc"), 100, 2)});
    if (any_ap) {
      cells.push_back(fmt_opt(r.metric("test_ap"), 100, 2));
    }
    cells.insert(cells.end(), {core::format_duration(r.wall_seconds), r.name});
    rows.push_back(cells);
  }
  if (req.format == "csv") {
    fmt::print("{}\n", fmt::join(head, ","));
    for (auto& row : rows) {
      for (auto& c : row) {
        c = core::csv_field(c);
      }
      fmt::print("{}\n", fmt::join(row, ","));
    }
    return 0;
  }
  core::TextTable table(head);
  for (auto& row : rows) {
    table.add_row(row);
  }
  fmt::print("{}", table.render());
  return 0;
}

}  // namespace moexp::report
