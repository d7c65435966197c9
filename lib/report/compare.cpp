#include "report/compare.hpp"

#include "core/error.hpp"
#include "core/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace moexp::report {
namespace {

// Continued fraction of the regularized incomplete beta function (Numerical Recipes, betacf).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEps = 1e-14, kTiny = 1e-300;
  double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) {
      break;
    }
  }
  return h;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0)
    return 0;
  if (x >= 1)
    return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log(1 - x));
  if (x < (a + 1) / (a + b + 2)) {
    return front * beta_continued_fraction(a, b, x) / a;
  }
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double t_test_p_value(double t, double df) {
  if (!std::isfinite(t)) {
    return 0;
  }
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

namespace {

// The paired rows of scheme `b` against `a`, per group of `by` (constraint.kind already dropped).
std::vector<CompareRow> paired_rows(const std::vector<store::RunSummary>& runs, const std::vector<std::string>& by,
                                    const std::string& a, const std::string& b, const MetricSpec& spec) {
  // group -> seed -> (value of A, value of B)
  std::map<std::vector<std::string>, std::map<std::string, std::pair<std::optional<double>, std::optional<double>>>>
      groups;
  for (const auto& r : runs) {
    const auto kind = display_value(r, "constraint.kind");
    if (r.status != RunStatus::finished || (kind != a && kind != b)) {
      continue;
    }
    auto v = metric_value(r, spec.name);
    auto& pair = groups[group_key(r, by)][display_value(r, "train.seed")];
    (kind == a ? pair.first : pair.second) = v ? std::optional(*v * spec.scale) : std::nullopt;
  }
  std::vector<CompareRow> rows;
  for (const auto& [key, seeds] : groups) {
    std::vector<double> diffs, va, vb;
    for (const auto& [seed, pair] : seeds) {
      if (pair.first && pair.second) {
        va.push_back(*pair.first);
        vb.push_back(*pair.second);
        diffs.push_back(*pair.second - *pair.first);
      }
    }
    if (diffs.empty()) {
      continue;
    }
    CompareRow row;
    row.key_values = key;
    row.b = b;
    const auto d = aggregate(diffs);
    row.pairs = d.n;
    row.mean_diff = d.mean;
    row.std_diff = d.std;
    row.ci95 = d.ci95;
    row.mean_a = aggregate(va).mean;
    row.mean_b = aggregate(vb).mean;
    if (d.n >= 2 && d.std > 0) {
      row.t = d.mean / (d.std / std::sqrt(static_cast<double>(d.n)));
      row.p = t_test_p_value(row.t, static_cast<double>(d.n - 1));
      row.effect = d.mean / d.std;
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

CompareTable compare_schemes(const std::vector<store::RunSummary>& runs, std::vector<std::string> by,
                             const std::string& a, const std::string& b, const std::string& metric) {
  by.erase(std::remove(by.begin(), by.end(), "constraint.kind"), by.end());
  const auto spec = summarize({}, {}, {metric}).metrics.front();  // validates the metric name
  CompareTable table{a, b, spec, by, paired_rows(runs, by, a, b, spec)};
  std::sort(table.rows.begin(), table.rows.end(),
            [](const CompareRow& x, const CompareRow& y) { return group_less(x.key_values, y.key_values); });
  if (table.rows.empty()) {
    throw InputError(fmt::format("--compare {} {}: no seed has a finished run of both schemes", a, b));
  }
  return table;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  std::vector<double> adjusted(p.size());
  double running = 0;
  const auto m = static_cast<double>(p.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(rank)) * p[order[rank]]));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

CompareTable compare_all_schemes(const std::vector<store::RunSummary>& runs, std::vector<std::string> by,
                                 const std::string& baseline, const std::string& metric) {
  by.erase(std::remove(by.begin(), by.end(), "constraint.kind"), by.end());
  const auto spec = summarize({}, {}, {metric}).metrics.front();
  std::vector<std::string> schemes;
  bool baseline_seen = false;
  for (const auto& r : runs) {
    const auto kind = display_value(r, "constraint.kind");
    baseline_seen = baseline_seen || kind == baseline;
    if (kind != baseline && std::find(schemes.begin(), schemes.end(), kind) == schemes.end()) {
      schemes.push_back(kind);
    }
  }
  if (!baseline_seen) {
    throw InputError(fmt::format("--compare-all {}: no run of that scheme matches", baseline));
  }
  std::sort(schemes.begin(), schemes.end());
  CompareTable table{baseline, "", spec, by, {}};
  for (const auto& s : schemes) {
    for (auto& row : paired_rows(runs, by, baseline, s, spec)) {
      table.rows.push_back(std::move(row));
    }
  }
  if (table.rows.empty()) {
    throw InputError(fmt::format("--compare-all {}: no seed has a finished run of it and of another scheme", baseline));
  }
  std::stable_sort(table.rows.begin(), table.rows.end(), [](const CompareRow& x, const CompareRow& y) {
    return group_less(x.key_values, y.key_values) || (x.key_values == y.key_values && x.b < y.b);
  });
  std::vector<double> p;
  std::vector<CompareRow*> tested;
  for (auto& row : table.rows) {
    if (row.pairs >= 2 && row.std_diff > 0) {
      p.push_back(row.p);
      tested.push_back(&row);
    }
  }
  const auto adjusted = holm_adjust(p);
  for (std::size_t i = 0; i < tested.size(); ++i)
    tested[i]->p_holm = adjusted[i];
  return table;
}

std::string render_compare(const CompareTable& t, bool markdown) {
  const bool several = t.b.empty();
  std::vector<std::string> head = t.by;
  if (several)
    head.emplace_back("scheme B");
  for (const auto& h : {fmt::format("{} {}", t.a, t.metric.title),
                        several ? fmt::format("B {}", t.metric.title) : fmt::format("{} {}", t.b, t.metric.title),
                        std::string("diff (B - A) ± std"), std::string("95% CI"), std::string("pairs"),
                        std::string("t"), std::string("p (paired t)")}) {
    head.push_back(h);
  }
  if (several)
    head.emplace_back("p (Holm)");
  head.emplace_back("effect d_z");
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.rows) {
    auto cells = r.key_values;
    if (several)
      cells.push_back(r.b);
    const int dec = t.metric.decimals;
    const bool tested = r.pairs >= 2 && r.std_diff > 0;
    cells.push_back(fmt::format("{:.{}f}", r.mean_a, dec));
    cells.push_back(fmt::format("{:.{}f}", r.mean_b, dec));
    cells.push_back(fmt::format("{:+.{}f} ± {:.{}f}", r.mean_diff, dec, r.std_diff, dec));
    cells.push_back(
        r.pairs >= 2 ? fmt::format("[{:+.{}f}, {:+.{}f}]", r.mean_diff - r.ci95, dec, r.mean_diff + r.ci95, dec) : "-");
    cells.push_back(std::to_string(r.pairs));
    cells.push_back(tested ? fmt::format("{:.3f}", r.t) : "-");
    cells.push_back(tested ? fmt::format("{:.4f}", r.p) : "-");
    if (several)
      cells.push_back(r.p_holm ? fmt::format("{:.4f}", *r.p_holm) : "-");
    cells.push_back(tested ? fmt::format("{:+.2f}", r.effect) : "-");
    rows.push_back(cells);
  }
  const std::string intro =
      several ? fmt::format("every scheme B vs {} ({}), paired by seed; p (Holm) corrects for the {} tests:\n", t.a,
                            t.metric.title,
                            std::count_if(t.rows.begin(), t.rows.end(), [](const CompareRow& r) { return r.p_holm; }))
              : fmt::format("{} vs {} ({}), paired by seed:\n", t.b, t.a, t.metric.title);
  if (markdown) {
    std::string out = fmt::format("| {} |\n|", fmt::join(head, " | "));
    const std::size_t text_columns = t.by.size() + (several ? 1 : 0);
    for (std::size_t i = 0; i < head.size(); ++i)
      out.append(i < text_columns ? "---|" : "---:|");
    out.push_back('\n');
    for (const auto& r : rows) {
      out.append(fmt::format("| {} |\n", fmt::join(r, " | ")));
    }
    return out;
  }
  core::TextTable table(head);
  for (auto& r : rows) {
    table.add_row(r);
  }
  return intro + table.render() + "effect d_z: mean difference / std of the differences (paired Cohen's d).\n";
}

}  // namespace moexp::report
