#include "report/summary.hpp"

#include "core/dataset_kinds.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

namespace moexp::report {

std::optional<double> metric_value(const store::RunSummary& r, const std::string& name) {
  if (name == kWallSecondsMetric) {
    return r.wall_seconds;
  }
  return r.metric(name);
}

void check_metric_name(const std::vector<store::RunSummary>& runs, const std::string& name, const std::string& option) {
  std::set<std::string> known;
  for (const auto& m : default_report_metrics()) {
    known.insert(m.name);
  }
  for (const auto& r : runs) {
    for (const auto& [key, value] : r.metrics) {
      known.insert(key);
    }
  }
  if (known.count(name) || catalogued_metric(name)) {
    return;
  }
  const std::vector<std::string> names(known.begin(), known.end());
  auto msg = fmt::format("{}: unknown metric '{}'; metrics are {}", option, name, core::join_alternatives(names));
  msg = core::with_suggestion(std::move(msg), name, names);
  throw InputError(msg);
}

Stat aggregate(const std::vector<double>& values) {
  // Two-sided 95% Student t quantiles for 1..30 degrees of freedom; 1.96 beyond.
  static const double kT95[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  Stat s;
  s.n = static_cast<std::int64_t>(values.size());
  if (values.empty()) {
    return s;
  }
  double sum = 0;
  s.max = values.front();
  for (double v : values) {
    sum += v;
    s.max = std::max(s.max, v);
  }
  s.mean = sum / static_cast<double>(s.n);
  if (s.n > 1) {
    double sq = 0;
    for (double v : values) {
      sq += (v - s.mean) * (v - s.mean);
    }
    s.std = std::sqrt(sq / static_cast<double>(s.n - 1));
    const double t = s.n - 1 <= 30 ? kT95[s.n - 2] : 1.96;
    s.ci95 = t * s.std / std::sqrt(static_cast<double>(s.n));
  }
  return s;
}

bool group_less(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) {
      continue;
    }
    char* ea = nullptr;
    char* eb = nullptr;
    const double da = std::strtod(a[i].c_str(), &ea), db = std::strtod(b[i].c_str(), &eb);
    if (*ea == '\0' && *eb == '\0' && !a[i].empty() && !b[i].empty()) {
      return da < db;
    }
    return a[i] < b[i];
  }
  return a.size() < b.size();
}

TaskKind task_of(const store::RunSummary& run) {
  const auto* dataset = find_dataset_kind(display_value(run, "data.dataset"));
  return dataset != nullptr ? dataset_task(dataset->id) : TaskKind::classification;
}

std::string display_value(const store::RunSummary& run, const std::string& key) {
  if (key == "constraint.kind" && run.params.count("moe.enabled") && run.params.at("moe.enabled") == "false") {
    return "dense";
  }
  auto it = run.params.find(key);
  if (it == run.params.end()) {
    return "-";
  }
  std::string v = it->second;
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return v;
}

std::vector<std::string> group_key(const store::RunSummary& run, const std::vector<std::string>& by) {
  std::vector<std::string> key;
  key.reserve(by.size());
  for (const auto& k : by) {
    key.push_back(display_value(run, k));
  }
  return key;
}

std::string group_caption(const std::vector<std::string>& by, const std::vector<std::string>& key) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < by.size() && i < key.size(); ++i) {
    parts.push_back(fmt::format("{}={}", by[i], key[i]));
  }
  return parts.empty() ? "all runs" : fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<std::string> default_group_keys(const std::vector<store::RunSummary>& runs) {
  std::vector<std::string> keys;
  for (const char* optional_key : {"data.dataset", "model.arch"}) {
    std::set<std::string> values;
    for (const auto& r : runs) {
      values.insert(display_value(r, optional_key));
    }
    if (values.size() > 1) {
      keys.push_back(optional_key);
    }
  }
  keys.push_back("constraint.kind");
  keys.push_back("moe.num_experts");
  // Where the MoE layers sit (classification: stage positions; detection: which head) and the detector's backbone,
  // when the MoE runs differ in them.
  for (const char* key : {"moe.position", "moe.head", "model.backbone"}) {
    std::set<std::string> values;
    for (const auto& r : runs) {
      if (display_value(r, "constraint.kind") != "dense") {
        values.insert(display_value(r, key));
      }
    }
    if (values.size() > 1) {
      keys.push_back(key);
    }
  }
  return keys;
}

ReportTable summarize(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                      const std::vector<std::string>& metrics) {
  ReportTable table;
  table.by = by;
  for (const auto& name : metrics) {
    check_metric_name(runs, name, "--metrics");
    table.metrics.push_back(metric_spec(name));
  }
  std::map<std::vector<std::string>, std::vector<const store::RunSummary*>> groups;
  std::vector<std::vector<std::string>> order;
  for (const auto& r : runs) {
    auto key = group_key(r, by);
    if (!groups.count(key)) {
      order.push_back(key);
    }
    groups[key].push_back(&r);
  }
  std::sort(order.begin(), order.end(), group_less);
  for (const auto& key : order) {
    GroupRow row;
    row.key_values = key;
    const auto& members = groups[key];
    for (const auto* r : members) {
      ++row.runs;
      if (r->status == RunStatus::finished) {
        ++row.finished;
      } else if (r->status == RunStatus::failed) {
        ++row.failed;
      } else if (r->status == RunStatus::diverged) {
        ++row.diverged;
      } else {
        ++row.other;
      }
    }
    for (const auto& m : table.metrics) {
      std::vector<double> values;
      for (const auto* r : members) {
        if (r->status != RunStatus::finished) {
          continue;
        }
        if (auto v = metric_value(*r, m.name)) {
          values.push_back(*v * m.scale);
        }
      }
      row.stats.push_back(values.empty() ? std::nullopt : std::optional<Stat>(aggregate(values)));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace moexp::report
