// Rendering a ReportTable: terminal text, Markdown, CSV, JSON, LaTeX (booktabs), and a self-contained HTML page.
#pragma once

#include "report/summary.hpp"

#include <string>

namespace moexp::report {

// "mean ± std" cells (std omitted for n = 1), plus counts of runs per status.
std::string render_text(const ReportTable& table);
std::string render_markdown(const ReportTable& table);
// One row per group: keys, then mean, std, ci95, n per metric, then the run counts.
std::string render_csv(const ReportTable& table);
std::string render_json(const ReportTable& table);
// A booktabs table (\toprule, \midrule, \bottomrule), $\pm$ between mean and std.
std::string render_latex(const ReportTable& table);
// A self-contained page (no network): the table and an inline SVG plot of the first metric against the number of
// experts, one line per constraint scheme, with ±std error bars. `title` heads the page.
std::string render_html(const ReportTable& table, const std::string& title);

// The routing pictures of one representative run (the HTML report shows one per group).
struct RunFigures {
  std::string caption;  // "relative, 4 experts: run 13 (seed 0), final test epoch"
  std::vector<std::string> class_names, superclass_names;
  LayerRouting routing;                            // first MoE layer of the last test snapshot
  std::vector<std::vector<double>> importance_by_epoch;  // [epoch][expert], test split
};

// SVG heatmap of `matrix` (rows x columns, values in [0, max]), labelled.
std::string svg_heatmap(const std::vector<std::vector<double>>& matrix, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& column_labels, const std::string& title);

// SVG line plot: one line per column of `series` ([x][line]) against x = 1..N.
std::string svg_lines(const std::vector<std::vector<double>>& series, const std::string& title,
                      const std::string& x_label);

// The HTML page with, after the table and plot, the figures of `runs`.
std::string render_html(const ReportTable& table, const std::string& title, const std::vector<RunFigures>& runs);

// The report formats, defined once: `report --format` accepts their names (and aliases), `--compare` the ones that
// can print a comparison, and render() dispatches on them. A new format is one entry here and its renderer.
struct ReportFormat {
  std::string_view name;
  std::string_view alias;  // another accepted spelling ("md"), or ""
  bool compare;            // `report --compare` prints it (text / markdown tables)
  bool figures;            // the renderer shows the representative runs' routing figures
  std::string (*render)(const ReportTable& table, const std::string& title, const std::vector<RunFigures>& runs);
};

// Every format, in the order help texts list them.
const std::vector<ReportFormat>& report_format_table();

// The format called `name` (or aliased so), or nullptr.
const ReportFormat* find_report_format(std::string_view name);

// Every format name render() takes.
std::vector<std::string> report_formats();

// Render `table` in `format` (a name or alias of report_format_table()), with `runs`' figures where the format shows
// them. Throws InputError for an unknown format.
std::string render(const ReportTable& table, const std::string& format, const std::string& title,
                   const std::vector<RunFigures>& runs = {});

} // namespace moexp::report
