// The HTML report page: the summary table, the plots the claims rest on (accuracy, importance CV, living experts,
// MI next to its control, per scheme with ±std over seeds), learning curves, and the routing figures of each group
// over seeds with aligned experts.
#include "report/render.hpp"
#include "report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace moexp::report {
namespace {

// The group keys that take more than one value among `keys` (what tells groups apart in a legend).
std::vector<std::size_t> varying_columns(const std::vector<std::vector<std::string>>& keys, std::size_t width) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < width; ++i) {
    std::set<std::string> values;
    for (const auto& k : keys)
      values.insert(k.at(i));
    if (values.size() > 1)
      out.push_back(i);
  }
  return out;
}

std::string short_label(const std::vector<std::string>& by, const std::vector<std::string>& key,
                        const std::vector<std::size_t>& columns, std::size_t skip) {
  std::vector<std::string> parts;
  for (auto i : columns) {
    if (i == skip)
      continue;
    const auto& k = by[i];
    const auto name = k == "moe.num_experts" ? std::string("E") : k.substr(k.find('.') + 1);
    parts.push_back(k == "constraint.kind" ? key[i] : fmt::format("{}={}", name, key[i]));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Metric `name` of every group as points: schemes along x, the other varying keys as series. Control: the metric
// whose value shows as a hollow marker beside each point.
std::string metric_points(const ReportTable& t, const std::string& name, const std::string& control) {
  const auto at = [&](const std::string& n) {
    return static_cast<std::size_t>(
        std::find_if(t.metrics.begin(), t.metrics.end(), [&](const MetricSpec& m) { return m.name == n; }) -
        t.metrics.begin());
  };
  const std::size_t m = at(name), c = at(control);
  if (m >= t.metrics.size())
    return "";
  std::vector<std::vector<std::string>> keys;
  for (const auto& r : t.rows)
    keys.push_back(r.key_values);
  const auto columns = varying_columns(keys, t.by.size());
  const auto kind = static_cast<std::size_t>(std::find(t.by.begin(), t.by.end(), "constraint.kind") - t.by.begin());
  std::vector<PlotPoint> points;
  for (const auto& r : t.rows) {
    if (!r.stats[m])
      continue;
    PlotPoint p;
    p.category = kind < t.by.size() ? r.key_values[kind] : short_label(t.by, r.key_values, columns, t.by.size());
    p.series = kind < t.by.size() ? short_label(t.by, r.key_values, columns, kind) : "";
    if (p.category == "dense") {
      p.series = "dense (no experts)";  // rather than "E=-"
    }
    p.mean = r.stats[m]->mean;
    p.error = r.stats[m]->std;
    if (c < t.metrics.size() && r.stats[c])
      p.control = r.stats[c]->mean;
    points.push_back(p);
  }
  const auto& spec = t.metrics[m];
  return svg_points(points, fmt::format("{} per scheme (mean ± std over seeds)", spec.title), spec.title, spec.decimals,
                    c < t.metrics.size() ? t.metrics[c].title + " (shuffled labels)" : "");
}

std::string curves_html(const std::vector<CurveSet>& sets) {
  std::string out;
  for (const auto& s : sets) {
    std::vector<std::vector<std::string>> keys;
    for (const auto& c : s.curves)
      keys.push_back(c.key_values);
    const auto columns = varying_columns(keys, s.by.size());
    std::vector<PlotLine> lines;
    for (const auto& c : s.curves) {
      PlotLine l;
      l.label = short_label(s.by, c.key_values, columns, s.by.size());
      if (l.label.empty())
        l.label = "all runs";
      for (const auto& e : c.by_epoch) {
        l.y.push_back(e ? std::optional(e->mean) : std::nullopt);
        l.band.push_back(e ? e->std : 0.0);
      }
      lines.push_back(std::move(l));
    }
    out += svg_line_plot(lines, fmt::format("{} per epoch (mean ± std over seeds)", s.metric.title), "epoch",
                         s.metric.decimals);
  }
  return out.empty() ? "" : "<h2>Learning curves</h2>\n<div class=\"row\">\n" + out + "</div>\n";
}

std::string group_figures_html(const std::vector<GroupFigures>& groups) {
  if (groups.empty())
    return "";
  std::string out = "<h2>Routing per group, over seeds</h2>\n";
  for (const auto& g : groups) {
    out += fmt::format("<h3>{}</h3>\n", html_escape(g.caption));
    if (g.seeds.size() > 1) {
      out += g.alignment.aligned
                 ? fmt::format(
                       "<p class=\"note\">Experts of every seed aligned to seed {}'s by their {} x expert "
                       "columns: matched columns correlate {:.3f} on average. The best matching of seeds whose "
                       "rows are shuffled (no shared structure) reaches {:.3f} &plusmn; {:.3f} ({} permutations), "
                       "p = {:.3g}; the mean over all column pairs is {:.3f}. "
                       "Expert e<i>j</i> is the same expert in every seed.</p>\n",
                       html_escape(g.seeds.front()), html_escape(g.alignment_kind), g.alignment.matched_correlation,
                       g.alignment_null.null_mean, g.alignment_null.null_sd, g.alignment_null.permutations,
                       g.alignment_null.p_value, g.alignment.random_correlation)
                 : fmt::format(
                       "<p class=\"note\">Experts not aligned (--no-align): expert e<i>j</i> of one seed has "
                       "nothing to do with e<i>j</i> of another; the same columns correlate {:.3f} on average "
                       "(a random matching {:.3f}).</p>\n",
                       g.alignment.matched_correlation, g.alignment.random_correlation);
    }
    if (g.skipped > 0) {
      out += fmt::format(
          "<p class=\"note\">{} run(s) left out: another expert count or other group kinds than "
          "run {}.</p>\n",
          g.skipped, g.run_ids.empty() ? 0 : g.run_ids.front());
    }
    std::vector<std::string> experts;
    for (std::size_t e = 0; e < g.coactivation.mean.size(); ++e)
      experts.push_back(fmt::format("e{}", e));
    out += "<div class=\"row\">\n";
    for (const auto& k : g.kinds) {
      const auto names = k.kind == kClassGroup        ? g.class_names
                         : k.kind == kSuperclassGroup ? g.superclass_names
                                                      : fixed_group_names(k.kind, k.matrix.mean.size());
      std::string mi =
          k.mi.n > 1 ? fmt::format("MI {:.3f} ± {:.3f}", k.mi.mean, k.mi.std) : fmt::format("MI {:.3f}", k.mi.mean);
      if (k.mi_null.n > 0) {  // against the permutation null: its mean, and the largest p over the seeds
        mi += fmt::format(", null {:.3f}, p ≤ {:.3g}", k.mi_null.mean, k.mi_p.max);
        for (const auto& c : k.given) {
          mi += fmt::format("; given the {} {:.3f}, null {:.3f}, p ≤ {:.3g}", given_words(c.given), c.mi.mean,
                            c.null.mean, c.p.max);
        }
      } else {
        mi += fmt::format(", control {:.3f}", k.mi_control.mean);
      }
      out += svg_heatmap(
          k.matrix.mean, names, experts,
          fmt::format("{} x expert, mean gate weight{} ({})", k.kind, g.seeds.size() > 1 ? " over seeds" : "", mi),
          &k.matrix.std);
      if (g.seeds.size() > 1) {
        out += svg_heatmap(k.matrix.std, names, experts, fmt::format("{} x expert, std over seeds", k.kind));
      }
    }
    if (experts.size() > 1) {
      out +=
          svg_heatmap(g.coactivation.mean, experts, experts, "pair co-activation (test samples)", &g.coactivation.std);
    }
    std::vector<PlotLine> lines;
    for (std::size_t e = 0; e < experts.size(); ++e) {
      PlotLine l{experts[e], {}, {}};
      for (std::size_t i = 0; i < g.importance_by_epoch.mean.size(); ++i) {
        l.y.push_back(g.importance_by_epoch.mean[i].at(e));
        l.band.push_back(g.importance_by_epoch.std[i].at(e));
      }
      lines.push_back(std::move(l));
    }
    out += svg_line_plot(lines, "importance share per expert (test split)", "epoch", 2);
    out += "</div>\n";
  }
  return out;
}

// A column header that may wrap after '.' and '_' (config keys such as moe.num_experts are one long word).
std::string breakable_header(const std::string& name) {
  std::string out;
  for (char c : html_escape(name)) {
    out += c;
    if (c == '.' || c == '_') {
      out += "<wbr>";
    }
  }
  return out;
}

}  // namespace

std::string render_html(const ReportTable& t, const std::string& title, const ReportFigures& figures) {
  std::string rows;
  for (const auto& r : t.rows) {
    rows.append("<tr>");
    for (const auto& k : r.key_values)
      rows.append(fmt::format("<td>{}</td>", html_escape(k)));
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      rows.append(
          fmt::format("<td class=\"num\">{}</td>", html_escape(stat_text(r.stats[i], t.metrics[i], " ± ", "≤ "))));
    }
    rows.append(fmt::format("<td class=\"num\">{}</td></tr>\n", html_escape(run_counts(r))));
  }
  std::string head;
  for (const auto& hname : table_header(t))
    head.append(fmt::format("<th>{}</th>", breakable_header(hname)));
  std::string plots;
  if (!t.metrics.empty()) {
    plots += metric_points(t, t.metrics.front().name, "");
  }
  for (const auto& [name, control] : std::vector<std::pair<std::string, std::string>>{
           {"importance_cv", ""}, {"living_experts", ""}, {"superclass_mi", "superclass_mi_null"}}) {
    if (t.metrics.empty() || t.metrics.front().name != name)
      plots += metric_points(t, name, control);
  }
  const std::string versus = experts_plot(t);
  return fmt::format(
      R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 100%; }}
.table-wrap {{ overflow-x: auto; max-width: 100%; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 8px; border-bottom: 1px solid #ddd; }}
th {{ text-align: left; border-bottom: 2px solid #333; vertical-align: bottom; max-width: 7em; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.row {{ display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }}
figure {{ margin: 0 0 1em 0; }} figcaption {{ font-size: 0.9em; color: #555; max-width: 560px; }}
p.note {{ color: #555; font-size: 0.9em; max-width: 60em; }}
table.gallery td {{ vertical-align: top; }}
.thumbs {{ display: grid; grid-template-columns: repeat(4, 28px); gap: 2px; }}
img.thumb {{ width: 28px; height: 28px; image-rendering: pixelated; }}
.thumbs.control {{ opacity: 0.85; }}
.expert {{ font-size: 11px; }} .expert h4 {{ margin: 2px 0; font-size: 11px; }} .expert td {{ padding: 0 4px; border: 0; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }} .bar {{ display: inline-block; height: 8px; }}
</style></head>
<body>
<h1>{0}</h1>
<p>Mean ± standard deviation over seeds (finished runs); a p-value column shows the largest p over the seeds (≤ p:
every seed's permutation test is at most p). n counts finished runs and shows failed, diverged and unfinished ones.</p>
<div class="table-wrap"><table>
<thead><tr>{1}</tr></thead>
<tbody>
{2}</tbody>
</table></div>
<h2>Per scheme</h2>
<div class="row">
{3}</div>
{4}{5}{6}{7}
</body></html>
)",
      html_escape(title), head, rows, plots,
      versus.empty() ? "" : fmt::format("<h2>{} vs experts</h2>\n{}", html_escape(t.metrics[0].title), versus),
      curves_html(figures.curves), group_figures_html(figures.groups),
      group_galleries_html(figures.groups, figures.galleries));
}

}  // namespace moexp::report
