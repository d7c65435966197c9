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
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                                b * std::log(1 - x));
  if (x < (a + 1) / (a + b + 2)) {
    return front * beta_continued_fraction(a, b, x) / a;
  }
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

} // namespace

double t_test_p_value(double t, double df) {
  if (!std::isfinite(t)) {
    return 0;
  }
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

CompareTable compare_schemes(const std::vector<store::RunSummary>& runs, std::vector<std::string> by,
                             const std::string& a, const std::string& b, const std::string& metric) {
  by.erase(std::remove(by.begin(), by.end(), "constraint.kind"), by.end());
  const auto spec = summarize({}, {}, {metric}).metrics.front();  // validates the metric name
  CompareTable table{a, b, spec, by, {}};
  // group -> seed -> (value of A, value of B)
  std::map<std::vector<std::string>, std::map<std::string, std::pair<std::optional<double>, std::optional<double>>>>
      groups;
  for (const auto& r : runs) {
    const auto kind = display_value(r, "constraint.kind");
    if (r.status != RunStatus::finished || (kind != a && kind != b)) {
      continue;
    }
    std::vector<std::string> key;
    for (const auto& k : by) {
      key.push_back(display_value(r, k));
    }
    auto v = metric_value(r, metric);
    auto& pair = groups[key][display_value(r, "train.seed")];
    (kind == a ? pair.first : pair.second) = v ? std::optional(*v * spec.scale) : std::nullopt;
  }
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
    const auto d = aggregate(diffs);
    row.pairs = d.n;
    row.mean_diff = d.mean;
    row.std_diff = d.std;
    row.mean_a = aggregate(va).mean;
    row.mean_b = aggregate(vb).mean;
    if (d.n >= 2 && d.std > 0) {
      row.t = d.mean / (d.std / std::sqrt(static_cast<double>(d.n)));
      row.p = t_test_p_value(row.t, static_cast<double>(d.n - 1));
    }
    table.rows.push_back(row);
  }
  std::sort(table.rows.begin(), table.rows.end(),
            [](const CompareRow& x, const CompareRow& y) { return group_less(x.key_values, y.key_values); });
  if (table.rows.empty()) {
    throw InputError(fmt::format("--compare {} {}: no seed has a finished run of both schemes", a, b));
  }
  return table;
}

std::string render_compare(const CompareTable& t, bool markdown) {
  std::vector<std::string> head = t.by;
  for (const auto& h : {fmt::format("{} {}", t.a, t.metric.title), fmt::format("{} {}", t.b, t.metric.title),
                        std::string("diff (B - A)"), std::string("pairs"), std::string("t"),
                        std::string("p (paired t-test)")}) {
    head.push_back(h);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.rows) {
    auto cells = r.key_values;
    const int dec = t.metric.decimals;
    cells.push_back(fmt::format("{:.{}f}", r.mean_a, dec));
    cells.push_back(fmt::format("{:.{}f}", r.mean_b, dec));
    cells.push_back(fmt::format("{:+.{}f} ± {:.{}f}", r.mean_diff, dec, r.std_diff, dec));
    cells.push_back(std::to_string(r.pairs));
    cells.push_back(r.pairs >= 2 ? fmt::format("{:.3f}", r.t) : "-");
    cells.push_back(r.pairs >= 2 ? fmt::format("{:.4f}", r.p) : "-");
    rows.push_back(cells);
  }
  if (markdown) {
    std::string out = fmt::format("| {} |\n|{}\n", fmt::join(head, " | "), [&] {
      std::string sep;
      for (std::size_t i = 0; i < head.size(); ++i) sep.append(i < t.by.size() ? "---|" : "---:|");
      return sep;
    }());
    for (const auto& r : rows) {
      out.append(fmt::format("| {} |\n", fmt::join(r, " | ")));
    }
    return out;
  }
  core::TextTable table(head);
  for (auto& r : rows) {
    table.add_row(r);
  }
  return fmt::format("{} vs {} ({}), paired by seed:\n{}", t.b, t.a, t.metric.title, table.render());
}

} // namespace moexp::report
