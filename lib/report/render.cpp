#include "report/render.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/name_table.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"
#include "report/svg.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace moexp::report {

std::string stat_text(const std::optional<Stat>& s, const MetricSpec& m, std::string_view plus_minus,
                      std::string_view at_most) {
  if (!s) {
    return "-";
  }
  if (s->n < 2) {
    return fmt::format("{:.{}f}", s->mean, m.decimals);
  }
  if (m.largest_over_seeds) {
    return fmt::format("{}{:.{}f}", at_most, s->max, m.decimals);
  }
  return fmt::format("{:.{}f}{}{:.{}f}", s->mean, m.decimals, plus_minus, s->std, m.decimals);
}

std::string run_counts(const GroupRow& r) {
  std::string out = fmt::format("{}", r.finished);
  if (r.failed)
    out += fmt::format(" +{} failed", r.failed);
  if (r.diverged)
    out += fmt::format(" +{} diverged", r.diverged);
  if (r.other)
    out += fmt::format(" +{} unfinished", r.other);
  return out;
}

std::vector<std::string> table_header(const ReportTable& t) {
  std::vector<std::string> h = t.by;
  for (const auto& m : t.metrics) {
    h.push_back(m.title);
  }
  h.push_back("n");
  return h;
}

namespace {

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

}  // namespace

std::string experts_plot(const ReportTable& t) {
  auto kind_col = std::find(t.by.begin(), t.by.end(), "constraint.kind") - t.by.begin();
  auto e_col = std::find(t.by.begin(), t.by.end(), "moe.num_experts") - t.by.begin();
  if (t.metrics.empty() || kind_col >= static_cast<long>(t.by.size()) || e_col >= static_cast<long>(t.by.size())) {
    return "";
  }
  std::map<std::string, std::vector<std::tuple<double, double, double>>> series;  // kind -> (E, mean, std)
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  std::map<std::string, double> baselines;  // rows without an expert count (dense): horizontal lines
  for (const auto& r : t.rows) {
    if (!r.stats[0])
      continue;
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
  std::set<double> expert_counts;
  for (const auto& [kind, pts] : series)
    for (const auto& p : pts)
      expert_counts.insert(std::get<0>(p));
  if (expert_counts.size() < 2) {
    return "";  // one expert count: the per-scheme points show it
  }
  if (xmax - xmin < 1e-9) {
    xmin -= 1;
    xmax += 1;
  }
  if (ymax - ymin < 1e-9) {
    ymin -= 1;
    ymax += 1;
  }
  const double w = 640, h = 360, left = 60, right = 160, top = 20, bottom = 40;
  auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (w - left - right); };
  auto Y = [&](double y) { return top + (1 - (y - ymin) / (ymax - ymin)) * (h - top - bottom); };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
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
  for (const auto& [kind, pts] : series)
    for (const auto& p : pts)
      xs.insert(std::get<0>(p));
  for (double x : xs) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:g}</text>\n", X(x),
                       h - bottom + 16, x);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">experts</text>\n",
                     (left + w - right) / 2, h - 6);
  int c = 0;
  for (const auto& [kind, mean] : baselines) {
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" "
        "stroke-dasharray=\"6 4\"/>\n",
        X(xmin), Y(mean), X(xmax), Y(mean));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#555\">{} (baseline)</text>\n", w - right + 12,
                       top + 16 + 18 * c, html_escape(kind));
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

std::string render_text(const ReportTable& t) {
  core::TextTable table(table_header(t));
  for (const auto& r : t.rows) {
    std::vector<std::string> cells = r.key_values;
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      cells.push_back(stat_text(r.stats[i], t.metrics[i]));
    }
    cells.push_back(run_counts(r));
    table.add_row(cells);
  }
  return table.render();
}

std::string render_markdown(const ReportTable& t) {
  auto h = table_header(t);
  for (auto& title : h) {  // a '|' in a title ("size|level MI") would split its cell
    std::string escaped;
    for (char c : title) {
      escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    }
    title = std::move(escaped);
  }
  std::string out = "| " + fmt::format("{}", fmt::join(h, " | ")) + " |\n|";
  for (std::size_t i = 0; i < h.size(); ++i) {
    out.append(i < t.by.size() ? "---|" : "---:|");
  }
  out.push_back('\n');
  for (const auto& r : t.rows) {
    std::vector<std::string> cells = r.key_values;
    for (std::size_t i = 0; i < t.metrics.size(); ++i) {
      cells.push_back(stat_text(r.stats[i], t.metrics[i]));
    }
    cells.push_back(run_counts(r));
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
      // A p-value column also gives its largest value over the seeds (what the other formats show).
      const auto largest = t.metrics[i].largest_over_seeds && s
                               ? fmt::format("\"max\": {}, ", core::json_number(s->max))
                               : std::string();
      metrics.push_back(s ? fmt::format("{}: {{\"mean\": {}, \"std\": {}, \"ci95\": {}, {}\"n\": {}}}",
                                        core::json_string(t.metrics[i].name), core::json_number(s->mean),
                                        core::json_number(s->std), core::json_number(s->ci95), largest, s->n)
                          : fmt::format("{}: null", core::json_string(t.metrics[i].name)));
    }
    rows.push_back(fmt::format(
        "{{\"group\": {{{}}}, \"metrics\": {{{}}}, \"runs\": {}, \"finished\": {}, "
        "\"failed\": {}, \"diverged\": {}, \"unfinished\": {}}}",
        fmt::join(keys, ", "), fmt::join(metrics, ", "), r.runs, r.finished, r.failed, r.diverged, r.other));
  }
  return fmt::format("{{\"rows\": [{}]}}\n", fmt::join(rows, ",\n  "));
}

namespace {

std::string json_matrix(const Matrix& m) {
  std::vector<std::string> rows;
  for (const auto& r : m) {
    std::vector<std::string> cells;
    for (double v : r)
      cells.push_back(core::json_number(v));
    rows.push_back(fmt::format("[{}]", fmt::join(cells, ", ")));
  }
  return fmt::format("[{}]", fmt::join(rows, ", "));
}

std::string json_group_figures(const GroupFigures& g, const std::vector<std::string>& by) {
  std::vector<std::string> keys, kinds, ids, seeds;
  for (std::size_t i = 0; i < by.size() && i < g.key_values.size(); ++i) {
    keys.push_back(fmt::format("{}: {}", core::json_string(by[i]), core::json_string(g.key_values[i])));
  }
  for (const auto& k : g.kinds) {
    std::string nulls;
    if (k.mi_null.n > 0) {  // null means averaged over the seeds, p-values the largest
      nulls = fmt::format(", \"mi_null\": {}, \"mi_p_max\": {}", core::json_number(k.mi_null.mean),
                          core::json_number(k.mi_p.max));
      std::vector<std::string> given;
      for (const auto& c : k.given) {
        given.push_back(fmt::format("{{\"given\": {}, \"mi\": {}, \"mi_null\": {}, \"p_max\": {}}}",
                                    core::json_string(c.given), core::json_number(c.mi.mean),
                                    core::json_number(c.null.mean), core::json_number(c.p.max)));
      }
      nulls += fmt::format(", \"given\": [{}]", fmt::join(given, ", "));
    }
    kinds.push_back(fmt::format("{{\"kind\": {}, \"mi\": {}, \"mi_control\": {}{}, \"mean\": {}, \"std\": {}}}",
                                core::json_string(k.kind), core::json_number(k.mi.mean),
                                core::json_number(k.mi_control.mean), nulls, json_matrix(k.matrix.mean),
                                json_matrix(k.matrix.std)));
  }
  for (auto id : g.run_ids)
    ids.push_back(std::to_string(id));
  for (const auto& s : g.seeds)
    seeds.push_back(core::json_string(s));
  std::vector<std::string> expert_of;
  for (const auto& perm : g.alignment.expert_of) {
    std::vector<std::string> e;
    for (auto x : perm)
      e.push_back(std::to_string(x));
    expert_of.push_back(fmt::format("[{}]", fmt::join(e, ", ")));
  }
  return fmt::format(
      "{{\"group\": {{{}}}, \"runs\": [{}], \"seeds\": [{}], \"aligned\": {}, \"aligned_by\": {}, "
      "\"expert_of\": [{}], \"matched_correlation\": {}, \"random_correlation\": {}, "
      "\"alignment_null\": {}, \"kinds\": [{}]}}",
      fmt::join(keys, ", "), fmt::join(ids, ", "), fmt::join(seeds, ", "), g.alignment.aligned ? "true" : "false",
      core::json_string(g.alignment_kind), fmt::join(expert_of, ", "),
      core::json_number(g.alignment.matched_correlation), core::json_number(g.alignment.random_correlation),
      null_comparison_json(g.alignment_null), fmt::join(kinds, ", "));
}

}  // namespace

std::string render_json(const ReportTable& t, const ReportFigures& figures) {
  auto out = render_json(t);
  if (figures.groups.empty()) {
    return out;
  }
  std::vector<std::string> groups;
  for (const auto& g : figures.groups)
    groups.push_back(json_group_figures(g, t.by));
  out.resize(out.size() - 2);  // drop the closing "}\n"
  return fmt::format("{}, \"routing\": [{}]}}\n", out, fmt::join(groups, ",\n  "));
}

std::string render_latex(const ReportTable& t) {
  const auto h = table_header(t);
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
      cells.push_back(stat_text(r.stats[i], t.metrics[i], " $\\pm$ ", "$\\le$ "));
    }
    cells.push_back(latex_escape(run_counts(r)));
    out.append(fmt::format("{} \\\\\n", fmt::join(cells, " & ")));
  }
  out.append("\\bottomrule\n\\end{tabular}\n");
  return out;
}

const std::vector<ReportFormat>& report_format_table() {
  using Figures = ReportFigures;
  static const std::vector<ReportFormat> kFormats = {
      {"text", "", true, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_text(t); }},
      {"markdown", "md", true, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_markdown(t); }},
      {"csv", "", false, false, [](const ReportTable& t, const std::string&, const Figures&) { return render_csv(t); }},
      {"json", "", false, true,
       [](const ReportTable& t, const std::string&, const Figures& figures) { return render_json(t, figures); }},
      {"latex", "", false, false,
       [](const ReportTable& t, const std::string&, const Figures&) { return render_latex(t); }},
      {"html", "", false, true,
       [](const ReportTable& t, const std::string& title, const Figures& figures) {
         return render_html(t, title, figures);
       }},
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

std::vector<std::string> report_formats() {
  return core::names_of(report_format_table());
}

std::string render(const ReportTable& table, const std::string& format, const std::string& title,
                   const ReportFigures& figures) {
  const ReportFormat* f = find_report_format(format);
  if (f == nullptr) {
    throw InputError(fmt::format("--format {}: use {}", format, core::join_alternatives(report_formats())));
  }
  return f->render(table, title, figures);
}

}  // namespace moexp::report
