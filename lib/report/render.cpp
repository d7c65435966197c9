#include "report/render.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/name_table.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace moexp::report {
namespace {

std::string cell(const std::optional<Stat>& s, const MetricSpec& m, const char* pm) {
  if (!s) {
    return "-";
  }
  if (s->n < 2) {
    return fmt::format("{:.{}f}", s->mean, m.decimals);
  }
  return fmt::format("{:.{}f}{}{:.{}f}", s->mean, m.decimals, pm, s->std, m.decimals);
}

std::string counts(const GroupRow& r) {
  std::string out = fmt::format("{}", r.finished);
  if (r.failed) out += fmt::format(" +{} failed", r.failed);
  if (r.diverged) out += fmt::format(" +{} diverged", r.diverged);
  if (r.other) out += fmt::format(" +{} unfinished", r.other);
  return out;
}

std::vector<std::string> header(const ReportTable& t) {
  std::vector<std::string> h = t.by;
  for (const auto& m : t.metrics) {
    h.push_back(m.title);
  }
  h.push_back("n");
  return h;
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '%' || c == '&' || c == '#' || c == '$') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<': out.append("&lt;"); break;
    case '>': out.append("&gt;"); break;
    case '&': out.append("&amp;"); break;
    case '"': out.append("&quot;"); break;
    default: out.push_back(c);
    }
  }
  return out;
}

// Inline SVG: metric 0 against moe.num_experts, one polyline per constraint.kind, error bars ±std.
std::string svg_plot(const ReportTable& t) {
  auto kind_col = std::find(t.by.begin(), t.by.end(), "constraint.kind") - t.by.begin();
  auto e_col = std::find(t.by.begin(), t.by.end(), "moe.num_experts") - t.by.begin();
  if (t.metrics.empty() || kind_col >= static_cast<long>(t.by.size()) || e_col >= static_cast<long>(t.by.size())) {
    return "<p>(plot needs constraint.kind and moe.num_experts among the group keys)</p>";
  }
  std::map<std::string, std::vector<std::tuple<double, double, double>>> series;  // kind -> (E, mean, std)
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  std::map<std::string, double> baselines;  // rows without an expert count (dense): horizontal lines
  for (const auto& r : t.rows) {
    if (!r.stats[0]) continue;
    const auto& e_text = r.key_values[static_cast<std::size_t>(e_col)];
    char* end = nullptr;
    const double e = std::strtod(e_text.c_str(), &end);
    const auto& s = *r.stats[0];
    if (e_text.empty() || *end != '\0') {
      baselines[r.key_values[static_cast<std::size_t>(kind_col)]] = s.mean;
      ymin = std::min(ymin, s.mean);
      ymax = std::max(ymax, s.mean);
      continue;
    }
    series[r.key_values[static_cast<std::size_t>(kind_col)]].emplace_back(e, s.mean, s.std);
    xmin = std::min(xmin, e);
    xmax = std::max(xmax, e);
    ymin = std::min(ymin, s.mean - s.std);
    ymax = std::max(ymax, s.mean + s.std);
  }
  if (series.empty()) {
    return "<p>(no finished runs to plot)</p>";
  }
  if (xmax - xmin < 1e-9) { xmin -= 1; xmax += 1; }
  if (ymax - ymin < 1e-9) { ymin -= 1; ymax += 1; }
  const double w = 640, h = 360, left = 60, right = 160, top = 20, bottom = 40;
  auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (w - left - right); };
  auto Y = [&](double y) { return top + (1 - (y - ymin) / (ymax - ymin)) * (h - top - bottom); };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
  std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
                                "role=\"img\" aria-label=\"{} vs experts\">\n",
                                w, h, html_escape(t.metrics[0].title));
  svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n", left, h - bottom, w - right,
                     h - bottom);
  svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n", left, top, left, h - bottom);
  for (int i = 0; i <= 4; ++i) {
    const double y = ymin + (ymax - ymin) * i / 4;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{:.{}f}</text>\n", left - 6,
                       Y(y) + 4, y, t.metrics[0].decimals);
  }
  std::set<double> xs;
  for (const auto& [kind, pts] : series) for (const auto& p : pts) xs.insert(std::get<0>(p));
  for (double x : xs) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:g}</text>\n", X(x),
                       h - bottom + 16, x);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">experts</text>\n",
                     (left + w - right) / 2, h - 6);
  int c = 0;
  for (const auto& [kind, mean] : baselines) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" "
                       "stroke-dasharray=\"6 4\"/>\n",
                       X(xmin), Y(mean), X(xmax), Y(mean));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#555\">{} (baseline)</text>\n",
                       w - right + 12, top + 16 + 18 * c, html_escape(kind));
    ++c;
  }
  for (auto& [kind, pts] : series) {
    std::sort(pts.begin(), pts.end());
    const char* color = kColors[c % 7];
    std::string points;
    for (const auto& [x, m, s] : pts) {
      points += fmt::format("{:.1f},{:.1f} ", X(x), Y(m));
      svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>\n", X(x),
                         Y(m - s), Y(m + s), color);
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", X(x), Y(m), color);
    }
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{}\">{}</text>\n", w - right + 12,
                       top + 16 + 18 * c, color, html_escape(kind));
    ++c;
  }
  return svg + "</svg>\n";
}

std::string figures_html(const std::vector<RunFigures>& runs) {
  if (runs.empty()) {
    return "";
  }
  std::string out = "<h2>Routing of one run per group</h2>\n<style>figure { display: inline-block; margin: 0 1em 1em 0; "
                    "vertical-align: top; } figcaption { font-size: 0.9em; color: #555; }</style>\n";
  for (const auto& r : runs) {
    out += fmt::format("<h3>{}</h3>\n", html_escape(r.caption));
    std::vector<std::string> experts;
    for (std::size_t e = 0; e < r.routing.importance_share.size(); ++e) {
      experts.push_back(fmt::format("e{}", e));
    }
    for (const auto& g : r.routing.groups) {
      static const std::vector<std::string> kNumbered;
      const auto& names = g.kind == kClassGroup ? r.class_names
                          : g.kind == kSuperclassGroup ? r.superclass_names
                                                       : kNumbered;
      out += svg_heatmap(g.group_expert, names, experts,
                         g.kind == kClassGroup ? "class x expert (mean gate weight)" : g.kind + " x expert");
    }
    const std::size_t e = experts.size();
    if (r.routing.coactivation.size() == e * e && e > 1) {
      std::vector<std::vector<double>> pairs(e, std::vector<double>(e, 0.0));
      for (std::size_t i = 0; i < e; ++i) {
        for (std::size_t j = i + 1; j < e; ++j) {
          pairs[i][j] = pairs[j][i] = static_cast<double>(r.routing.coactivation[i * e + j]);
        }
      }
      out += svg_heatmap(pairs, experts, experts, "pair co-activation (samples)");
    }
    out += svg_lines(r.importance_by_epoch, "importance share per expert (test split)", "epoch");
  }
  return out;
}

} // namespace

std::string render_text(const ReportTable& t) {
  core::TextTable table(header(t));
  for (const auto& r : t.rows) {
    std::vector<std::string> cells = r.key_values;
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      cells.push_back(cell(r.stats[i], t.metrics[i], " ± "));
    }
    cells.push_back(counts(r));
    table.add_row(cells);
  }
  return table.render();
}

std::string render_markdown(const ReportTable& t) {
  const auto h = header(t);
  std::string out = "| " + fmt::format("{}", fmt::join(h, " | ")) + " |\n|";
  for (std::size_t i = 0; i < h.size(); ++i) {
    out.append(i < t.by.size() ? "---|" : "---:|");
  }
  out.push_back('\n');
  for (const auto& r : t.rows) {
    std::vector<std::string> cells = r.key_values;
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      cells.push_back(cell(r.stats[i], t.metrics[i], " ± "));
    }
    cells.push_back(counts(r));
    out.append(fmt::format("| {} |\n", fmt::join(cells, " | ")));
  }
  return out;
}

std::string render_csv(const ReportTable& t) {
  std::vector<std::string> h = t.by;
  for (const auto& m : t.metrics) {
    for (const char* part : {"mean", "std", "ci95", "n"}) {
      h.push_back(m.name + "_" + part);
    }
  }
  for (const char* c : {"runs", "finished", "failed", "diverged", "unfinished"}) {
    h.push_back(c);
  }
  std::string out = fmt::format("{}\n", fmt::join(h, ","));
  for (const auto& r : t.rows) {
    std::vector<std::string> cells;
    for (const auto& k : r.key_values) {
      cells.push_back(core::csv_field(k));
    }
    for (const auto& s : r.stats) {
      if (s) {
        cells.insert(cells.end(), {fmt::format("{}", s->mean), fmt::format("{}", s->std), fmt::format("{}", s->ci95),
                                   fmt::format("{}", s->n)});
      } else {
        cells.insert(cells.end(), {"", "", "", "0"});
      }
    }
    for (auto n : {r.runs, r.finished, r.failed, r.diverged, r.other}) {
      cells.push_back(fmt::format("{}", n));
    }
    out.append(fmt::format("{}\n", fmt::join(cells, ",")));
  }
  return out;
}

std::string render_json(const ReportTable& t) {
  std::vector<std::string> rows;
  for (const auto& r : t.rows) {
    std::vector<std::string> keys, metrics;
    for (std::size_t i = 0; i < t.by.size(); ++i) {
      keys.push_back(fmt::format("{}: {}", core::json_string(t.by[i]), core::json_string(r.key_values[i])));
    }
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      const auto& s = r.stats[i];
      metrics.push_back(s ? fmt::format("{}: {{\"mean\": {}, \"std\": {}, \"ci95\": {}, \"n\": {}}}",
                                        core::json_string(t.metrics[i].name), core::json_number(s->mean),
                                        core::json_number(s->std), core::json_number(s->ci95), s->n)
                          : fmt::format("{}: null", core::json_string(t.metrics[i].name)));
    }
    rows.push_back(fmt::format("{{\"group\": {{{}}}, \"metrics\": {{{}}}, \"runs\": {}, \"finished\": {}, "
                               "\"failed\": {}, \"diverged\": {}, \"unfinished\": {}}}",
                               fmt::join(keys, ", "), fmt::join(metrics, ", "), r.runs, r.finished, r.failed,
                               r.diverged, r.other));
  }
  return fmt::format("{{\"rows\": [{}]}}\n", fmt::join(rows, ",\n  "));
}

std::string render_latex(const ReportTable& t) {
  const auto h = header(t);
  std::string out = fmt::format("\\begin{{tabular}}{{{}{}}}\n\\toprule\n", std::string(t.by.size(), 'l'),
                                std::string(h.size() - t.by.size(), 'r'));
  std::vector<std::string> escaped;
  for (const auto& s : h) {
    escaped.push_back(latex_escape(s));
  }
  out.append(fmt::format("{} \\\\\n\\midrule\n", fmt::join(escaped, " & ")));
  for (const auto& r : t.rows) {
    std::vector<std::string> cells;
    for (const auto& k : r.key_values) {
      cells.push_back(latex_escape(k));
    }
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      cells.push_back(cell(r.stats[i], t.metrics[i], " $\\pm$ "));
    }
    cells.push_back(latex_escape(counts(r)));
    out.append(fmt::format("{} \\\\\n", fmt::join(cells, " & ")));
  }
  out.append("\\bottomrule\n\\end{tabular}\n");
  return out;
}

std::string svg_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const std::string& title) {
  if (m.empty() || m.front().empty()) {
    return "";
  }
  double max = 0;
  for (const auto& r : m) for (double v : r) max = std::max(max, v);
  if (max <= 0) max = 1;
  const double cell = 22, label_w = 170, top = 40;
  const std::size_t nr = m.size(), nc = m.front().size();
  const double w = label_w + cell * static_cast<double>(nc) + 20, h = top + cell * static_cast<double>(nr) + 10;
  std::string svg = fmt::format("<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
                                "width=\"{}\" height=\"{}\">\n",
                                html_escape(title), w, h);
  for (std::size_t c = 0; c < nc; ++c) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       label_w + cell * (static_cast<double>(c) + 0.5), top - 6,
                       html_escape(c < cols.size() ? cols[c] : std::to_string(c)));
  }
  for (std::size_t r = 0; r < nr; ++r) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", label_w - 6,
                       top + cell * (static_cast<double>(r) + 0.7),
                       html_escape(r < rows.size() ? rows[r] : std::to_string(r)));
    for (std::size_t c = 0; c < m[r].size(); ++c) {
      const double v = m[r][c] / max;
      const int shade = static_cast<int>(255 - 200 * v);
      svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},255)\">"
                         "<title>{}: {:.3f}</title></rect>\n",
                         label_w + cell * static_cast<double>(c), top + cell * static_cast<double>(r), cell - 1,
                         cell - 1, shade, shade, html_escape(r < rows.size() ? rows[r] : ""), m[r][c]);
    }
  }
  return svg + "</svg></figure>\n";
}

std::string svg_lines(const std::vector<std::vector<double>>& series, const std::string& title,
                      const std::string& x_label) {
  if (series.empty() || series.front().empty()) {
    return "";
  }
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                                  "#7f7f7f", "#bcbd22", "#17becf"};
  double ymax = 0;
  for (const auto& p : series) for (double v : p) ymax = std::max(ymax, v);
  if (ymax <= 0) ymax = 1;
  const double w = 520, h = 240, left = 50, right = 90, top = 10, bottom = 35;
  const double n = static_cast<double>(series.size());
  auto X = [&](double i) { return left + (n > 1 ? i / (n - 1) : 0.5) * (w - left - right); };
  auto Y = [&](double y) { return top + (1 - y / ymax) * (h - top - bottom); };
  std::string svg = fmt::format("<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
                                "width=\"{}\" height=\"{}\">\n",
                                html_escape(title), w, h);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333\"/>"
                     "<line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#333\"/>\n",
                     left, h - bottom, w - right, top);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{:.2f}</text>\n", left - 4,
                     top + 8, ymax);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{} (1..{})</text>\n",
                     (left + w - right) / 2, h - 8, html_escape(x_label), series.size());
  for (std::size_t line = 0; line < series.front().size(); ++line) {
    std::string points;
    for (std::size_t i = 0; i < series.size(); ++i) {
      points += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(i)), Y(series[i][line]));
    }
    const char* color = kColors[line % 10];
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">e{}</text>\n", w - right + 8,
                       top + 12 + 14 * static_cast<double>(line), color, line);
  }
  return svg + "</svg></figure>\n";
}

std::string render_html(const ReportTable& t, const std::string& title) { return render_html(t, title, {}); }

std::string render_html(const ReportTable& t, const std::string& title, const std::vector<RunFigures>& runs) {
  std::string rows;
  for (const auto& r : t.rows) {
    rows.append("<tr>");
    for (const auto& k : r.key_values) {
      rows.append(fmt::format("<td>{}</td>", html_escape(k)));
    }
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      rows.append(fmt::format("<td class=\"num\">{}</td>", html_escape(cell(r.stats[i], t.metrics[i], " ± "))));
    }
    rows.append(fmt::format("<td class=\"num\">{}</td></tr>\n", html_escape(counts(r))));
  }
  std::string head;
  for (const auto& hname : header(t)) {
    head.append(fmt::format("<th>{}</th>", html_escape(hname)));
  }
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; }}
th {{ text-align: left; border-bottom: 2px solid #333; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
</style></head>
<body>
<h1>{0}</h1>
<p>Mean ± standard deviation over seeds (finished runs); n counts finished runs and shows failed, diverged and
unfinished ones.</p>
<table>
<thead><tr>{1}</tr></thead>
<tbody>
{2}</tbody>
</table>
<h2>{3} vs experts</h2>
{4}
{5}
</body></html>
)",
                     html_escape(title), head, rows, html_escape(t.metrics.empty() ? "" : t.metrics[0].title),
                     svg_plot(t), figures_html(runs));
}

const std::vector<ReportFormat>& report_format_table() {
  using Figures = std::vector<RunFigures>;
  static const std::vector<ReportFormat> kFormats = {
      {"text", "", true, false, [](const ReportTable& t, const std::string&, const Figures&) { return render_text(t); }},
      {"markdown", "md", true, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_markdown(t); }},
      {"csv", "", false, false, [](const ReportTable& t, const std::string&, const Figures&) { return render_csv(t); }},
      {"json", "", false, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_json(t); }},
      {"latex", "", false, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_latex(t); }},
      {"html", "", false, true,
       [](const ReportTable& t, const std::string& title, const Figures& runs) { return render_html(t, title, runs); }},
  };
  return kFormats;
}

const ReportFormat* find_report_format(std::string_view name) {
  for (const auto& f : report_format_table()) {
    if (f.name == name || (!f.alias.empty() && f.alias == name)) {
      return &f;
    }
  }
  return nullptr;
}

std::vector<std::string> report_formats() { return core::names_of(report_format_table()); }

std::string render(const ReportTable& table, const std::string& format, const std::string& title,
                   const std::vector<RunFigures>& runs) {
  const ReportFormat* f = find_report_format(format);
  if (f == nullptr) {
    throw InputError(fmt::format("--format {}: use {}", format, core::join_alternatives(report_formats())));
  }
  return f->render(table, title, runs);
}

} // namespace moexp::report
