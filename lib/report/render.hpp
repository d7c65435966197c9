// Rendering a ReportTable: terminal text, Markdown, CSV, JSON, LaTeX (booktabs), and a self-contained HTML page.
#pragma once

#include "report/curves.hpp"
#include "report/group_figures.hpp"
#include "report/group_gallery.hpp"
#include "report/summary.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace moexp::report {

// "mean ± std" cells (std omitted for n = 1), plus counts of runs per status.
std::string render_text(const ReportTable& table);
std::string render_markdown(const ReportTable& table);
// One row per group: keys, then mean, std, ci95, n per metric, then the run counts.
std::string render_csv(const ReportTable& table);
std::string render_json(const ReportTable& table);
// A booktabs table (\toprule, \midrule, \bottomrule), $\pm$ between mean and std.
std::string render_latex(const ReportTable& table);
// The figures beyond the table that the HTML page (and JSON) show: routing per group over seeds, learning curves.
struct ReportFigures {
  std::vector<GroupFigures> groups;
  std::vector<CurveSet> curves;
  std::vector<GroupGallery> galleries{};  // HTML only: the seeds' galleries of the groups that have any
};

// The table with, when `figures` has any, "routing": per group the seeds, the alignment (expert_of, matched and
// random correlation) and each kind's aligned mean and std group x expert matrices.
std::string render_json(const ReportTable& table, const ReportFigures& figures);

// A self-contained page (no network, no script): the table in a horizontally scrolling box, per-scheme points with
// ±std for the first metric, importance CV, living experts and MI beside its control; the first metric against the
// number of experts when there are several; `figures`' learning curves, routing figures and galleries. `title` heads
// it.
std::string render_html(const ReportTable& table, const std::string& title, const ReportFigures& figures = {});

// The line plot of the first metric against moe.num_experts, one line per scheme with ±std bars and dense runs as
// dashed baselines; "" unless the groups have constraint.kind, moe.num_experts and at least two expert counts.
std::string experts_plot(const ReportTable& table);

// The run counts of a group ("3 +1 failed") and the table's column heads (group keys, metric titles, "n").
std::string run_counts(const GroupRow& row);

// A cell of mean ± std over seeds at `m`'s decimals: the mean alone for one run, "-" for none.
std::string stat_text(const std::optional<Stat>& s, const MetricSpec& m, std::string_view plus_minus = " ± ",
                      std::string_view at_most = "<= ");
std::vector<std::string> table_header(const ReportTable& table);

// The report formats, defined once: `report --format` accepts their names (and aliases), `--compare` the ones that
// can print a comparison, and render() dispatches on them. A new format is one entry here and its renderer.
struct ReportFormat {
  std::string_view name;
  std::string_view alias;  // another accepted spelling ("md"), or ""
  bool compare;            // `report --compare` prints it (text / markdown tables)
  bool figures;            // the renderer shows ReportFigures (routing over seeds, learning curves)
  std::string (*render)(const ReportTable& table, const std::string& title, const ReportFigures& figures);
};

// Every format, in the order help texts list them.
const std::vector<ReportFormat>& report_format_table();

// The format called `name` (or aliased so), or nullptr.
const ReportFormat* find_report_format(std::string_view name);

// Every format name render() takes.
std::vector<std::string> report_formats();

// Render `table` in `format` (a name or alias of report_format_table()), with `figures` where the format shows
// them. Throws InputError for an unknown format.
std::string render(const ReportTable& table, const std::string& format, const std::string& title,
                   const ReportFigures& figures = {});

}  // namespace moexp::report
