#include "sweep/planner.hpp"

#include "config/canonical.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>

namespace moexp::sweep {
namespace {

struct Setting {
  std::string key;
  config::Value value;
  std::string where;
  bool varies = true;  // part of the run's label (fixed settings are not)
};
using Point = std::vector<Setting>;

// Refuse to grow `points` runs by a factor `values` (at the axis `key` of `where`) past `max_runs`.
void check_growth(std::size_t points, std::size_t values, std::size_t planned, std::size_t max_runs,
                  const std::string& where, const std::string& key) {
  if (values != 0 && points > (max_runs - std::min(planned, max_runs)) / values) {
    throw ConfigError(
        fmt::format("{}: {}: the sweep expands to more than {} runs here ({} x {} values); split it into "
                    "several specs",
                    where, key, max_runs, points, values));
  }
}

// Cartesian product of `axes`, appended to each of `points` (`planned`: runs expanded before these).
std::vector<Point> cross(const std::vector<Point>& points, const std::vector<config::Axis>& axes, std::size_t max_runs,
                         std::size_t planned = 0) {
  std::vector<Point> out = points;
  for (const auto& axis : axes) {
    check_growth(out.size(), axis.values.size(), planned, max_runs, axis.where, axis.key);
    std::vector<Point> next;
    for (const auto& p : out) {
      for (const auto& v : axis.values) {
        Point q = p;
        q.push_back({axis.key, v, axis.where});
        next.push_back(std::move(q));
      }
    }
    out = std::move(next);
  }
  return out;
}

// Whether a setting tells runs apart (an explicit run's) or is shared by them (fixed): only the first are labelled.
enum class Labelled { no, yes };

Point settings_of(const std::vector<config::Axis>& fixed, Labelled labelled) {
  Point p;
  for (const auto& axis : fixed) {
    p.push_back({axis.key, axis.values.front(), axis.where, labelled == Labelled::yes});
  }
  return p;
}

// A value as it reads in a label: strings without quotes.
std::string label_text(const config::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    return *s;
  }
  return config::format_value(v);
}

config::ExperimentConfig apply(const config::ExperimentConfig& base, const Point& point) {
  config::ExperimentConfig cfg = base;
  bool moe_key = false, moe_enabled_set = false;
  for (const auto& s : point) {
    config::find_key(s.key)->set(cfg, s.value);
    moe_key = moe_key || (s.key.rfind("moe.", 0) == 0 && s.key != "moe.enabled");
    moe_enabled_set = moe_enabled_set || s.key == "moe.enabled";
  }
  if (moe_key && !moe_enabled_set) {
    cfg.moe.enabled = true;
  }
  return cfg;
}

bool matches(const config::ExperimentConfig& cfg, const config::Conditional& c) {
  const std::string current = config::value_text(cfg, c.key);
  return std::any_of(c.equals.begin(), c.equals.end(),
                     [&](const config::Value& v) { return config::format_value(v) == current; });
}

}  // namespace

Plan plan_sweep(const config::SweepSpec& spec, const config::ExperimentConfig& base, MissingData missing,
                std::size_t max_runs) {
  // Points from the grid and zip groups, then the explicit runs.
  std::vector<Point> points{Point{}};
  points = cross(points, spec.grid, max_runs);
  for (const auto& group : spec.zips) {
    check_growth(points.size(), group.front().values.size(), 0, max_runs, group.front().where, group.front().key);
    std::vector<Point> next;
    for (const auto& p : points) {
      for (std::size_t i = 0; i < group.front().values.size(); ++i) {
        Point q = p;
        for (const auto& axis : group) {
          q.push_back({axis.key, axis.values[i], axis.where});
        }
        next.push_back(std::move(q));
      }
    }
    points = std::move(next);
  }
  if (!spec.runs.empty()) {
    if (spec.grid.empty() && spec.zips.empty()) {
      points.clear();
    }
    for (const auto& run : spec.runs) {
      points.push_back(settings_of(run, Labelled::yes));
    }
  }
  const Point fixed = settings_of(spec.fixed, Labelled::no);

  Plan plan;
  std::set<std::string> seen;
  std::size_t planned = 0;  // runs expanded so far (duplicates included)
  for (const auto& point : points) {
    Point with_fixed = fixed;
    with_fixed.insert(with_fixed.end(), point.begin(), point.end());
    // Conditional blocks see the run's values so far.
    std::vector<Point> expanded{with_fixed};
    for (const auto& c : spec.when) {
      std::vector<Point> next;
      for (const auto& p : expanded) {
        if (!matches(apply(base, p), c)) {
          next.push_back(p);
          continue;
        }
        Point q = p;
        auto extra = settings_of(c.fixed, Labelled::no);
        q.insert(q.end(), extra.begin(), extra.end());
        auto crossed = cross({q}, c.grid, max_runs, planned + next.size());
        next.insert(next.end(), crossed.begin(), crossed.end());
      }
      expanded = std::move(next);
    }
    if (!spec.seeds.empty()) {
      config::Axis seeds{"train.seed", {}, spec.file.string()};
      for (auto s : spec.seeds) {
        seeds.values.emplace_back(s);
      }
      expanded = cross(expanded, {seeds}, max_runs, planned);
    }
    check_growth(expanded.size(), 1, planned, max_runs, spec.file.string(), "runs");
    planned += expanded.size();
    for (const auto& p : expanded) {
      PlannedRun run;
      run.config = apply(base, p);
      std::map<std::string, std::string> where;
      for (const auto& s : p) {
        where[s.key] = s.where;
        run.overrides.emplace_back(s.key, s.value);
        if (s.varies) {
          run.label += fmt::format("{}{}={}", run.label.empty() ? "" : " ", s.key, label_text(s.value));
        }
      }
      std::vector<std::string> missing_data;
      config::resolve_and_validate(
          run.config,
          [&](const std::string& key) {
            auto it = where.find(key);
            return it != where.end() ? fmt::format("{} (sweep axis)", it->second) : spec.base.string();
          },
          missing == MissingData::warn ? &missing_data : nullptr);
      for (auto& m : missing_data) {
        if (std::find(plan.missing_data.begin(), plan.missing_data.end(), m) == plan.missing_data.end()) {
          plan.missing_data.push_back(std::move(m));
        }
      }
      run.config.name = run.label.empty() ? spec.name : fmt::format("{} {}", spec.name, run.label);
      run.config_hash = config::config_hash(run.config);
      if (!seen.insert(run.config_hash).second) {
        ++plan.duplicates;
        continue;
      }
      plan.runs.push_back(std::move(run));
    }
  }
  if (spec.sample > 0 && static_cast<std::size_t>(spec.sample) < plan.runs.size()) {
    std::vector<std::size_t> order(plan.runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::mt19937_64 rng(static_cast<std::uint64_t>(spec.sample_seed));
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(static_cast<std::size_t>(spec.sample));
    std::sort(order.begin(), order.end());
    std::vector<PlannedRun> chosen;
    for (auto i : order) {
      chosen.push_back(std::move(plan.runs[i]));
    }
    plan.runs = std::move(chosen);
  }
  return plan;
}

Plan plan_sweep(const config::SweepSpec& spec, MissingData missing, std::size_t max_runs) {
  auto base = config::load_experiment_file(spec.base, {}, config::Resolve::no).config;
  return plan_sweep(spec, base, missing, max_runs);
}

}  // namespace moexp::sweep
