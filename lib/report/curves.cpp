#include "report/curves.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>

namespace moexp::report {
namespace {

void put(std::vector<std::optional<double>>& line, std::int64_t epoch, double value) {
  const auto i = static_cast<std::size_t>(epoch - 1);
  if (line.size() <= i) {
    line.resize(i + 1);
  }
  line[i] = value;
}

}  // namespace

const std::vector<std::string>& routing_curve_metrics() {
  static const std::vector<std::string> keys{"importance_cv", "sample_cv", "living_experts"};
  return keys;
}

EpochSeries read_epoch_series(store::ResultStore& db, std::int64_t id) {
  EpochSeries series;
  for (const auto& record : db.metrics().epochs(id)) {
    for (const auto& m : record.metrics) {
      put(series[metric_key(m.split, m.name)], record.epoch, m.value);
    }
  }
  // (epoch, layer) -> importance and sample shares of the test split
  std::map<std::pair<std::int64_t, std::int64_t>, std::pair<std::vector<double>, std::vector<double>>> shares;
  for (const auto& row : db.routing().expert_stats(id)) {
    if (row.split == "test") {
      auto& s = shares[{row.epoch, row.layer}];
      s.first.push_back(row.importance_share);
      s.second.push_back(row.sample_share);
    }
  }
  std::map<std::int64_t, std::vector<std::array<double, 3>>> by_epoch;  // epoch -> per layer (cv, sample cv, living)
  for (const auto& [at, s] : shares) {
    const auto living = std::count_if(s.first.begin(), s.first.end(), [](double v) { return v > kLivingShare; });
    by_epoch[at.first].push_back(
        {coefficient_of_variation(s.first), coefficient_of_variation(s.second), static_cast<double>(living)});
  }
  for (const auto& [epoch, layers] : by_epoch) {
    for (std::size_t k = 0; k < 3; ++k) {
      double sum = 0;
      for (const auto& l : layers)
        sum += l[k];
      put(series[routing_curve_metrics()[k]], epoch, sum / static_cast<double>(layers.size()));
    }
  }
  return series;
}

CurveSet learning_curves(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                         const std::string& metric, const std::map<std::int64_t, EpochSeries>& series) {
  CurveSet set{metric_spec(metric), by, {}};
  std::map<std::vector<std::string>, std::vector<std::vector<double>>> groups;  // key -> [epoch] -> values
  bool any = false;
  for (const auto& r : runs) {
    const auto found = series.find(r.id);
    if (r.status != RunStatus::finished || found == series.end()) {
      continue;
    }
    const auto line = found->second.find(metric);
    if (line == found->second.end()) {
      continue;
    }
    any = true;
    auto& values = groups[group_key(r, by)];
    if (values.size() < line->second.size()) {
      values.resize(line->second.size());
    }
    for (std::size_t i = 0; i < line->second.size(); ++i) {
      if (line->second[i]) {
        values[i].push_back(*line->second[i] * set.metric.scale);
      }
    }
  }
  if (!any) {
    auto known = curve_metric_keys(series);
    auto msg = fmt::format("--metric {}: not recorded per epoch by any finished run; per-epoch metrics are {}", metric,
                           known.empty() ? std::string("(none)") : core::join_alternatives(known));
    throw InputError(core::with_suggestion(std::move(msg), metric, known));
  }
  for (const auto& [key, values] : groups) {
    Curve curve{key, {}};
    for (const auto& v : values) {
      curve.by_epoch.push_back(v.empty() ? std::nullopt : std::optional<Stat>(aggregate(v)));
    }
    set.curves.push_back(std::move(curve));
  }
  std::sort(set.curves.begin(), set.curves.end(),
            [](const Curve& a, const Curve& b) { return group_less(a.key_values, b.key_values); });
  return set;
}

std::vector<std::string> curve_metric_keys(const std::map<std::int64_t, EpochSeries>& series) {
  std::set<std::string> keys;
  for (const auto& [id, s] : series) {
    for (const auto& [key, line] : s) {
      keys.insert(key);
    }
  }
  return {keys.begin(), keys.end()};
}

std::string render_curves_csv(const std::vector<CurveSet>& sets) {
  if (sets.empty()) {
    return "";
  }
  std::vector<std::string> head = sets.front().by;
  head.emplace_back("epoch");
  for (const auto& s : sets) {
    for (const char* part : {"mean", "std", "ci95", "n"}) {
      head.push_back(fmt::format("{}_{}", s.metric.name, part));
    }
  }
  // group -> epochs, over every set (a group may lack a metric, e.g. importance_cv of a dense run)
  std::vector<std::vector<std::string>> keys;
  std::map<std::vector<std::string>, std::size_t> epochs;
  for (const auto& s : sets) {
    for (const auto& c : s.curves) {
      if (!epochs.count(c.key_values))
        keys.push_back(c.key_values);
      epochs[c.key_values] = std::max(epochs[c.key_values], c.by_epoch.size());
    }
  }
  std::sort(keys.begin(), keys.end(), group_less);
  std::string out = fmt::format("{}\n", fmt::join(head, ","));
  for (const auto& key : keys) {
    for (std::size_t e = 0; e < epochs[key]; ++e) {
      std::vector<std::string> cells;
      for (const auto& k : key)
        cells.push_back(core::csv_field(k));
      cells.push_back(std::to_string(e + 1));
      for (const auto& s : sets) {
        auto c = std::find_if(s.curves.begin(), s.curves.end(), [&](const Curve& x) { return x.key_values == key; });
        if (c != s.curves.end() && e < c->by_epoch.size() && c->by_epoch[e]) {
          const auto& st = *c->by_epoch[e];
          cells.insert(cells.end(), {fmt::format("{}", st.mean), fmt::format("{}", st.std), fmt::format("{}", st.ci95),
                                     std::to_string(st.n)});
        } else {
          cells.insert(cells.end(), {"", "", "", "0"});
        }
      }
      out += fmt::format("{}\n", fmt::join(cells, ","));
    }
  }
  return out;
}

}  // namespace moexp::report
