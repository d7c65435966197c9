// Inline SVG figures for the HTML report: heatmaps with a colour scale and values on hover, points with error bars
// per scheme, and lines with ±std bands. Self-contained markup (no script, no network).
#pragma once

#include "report/alignment.hpp"

#include <optional>
#include <string>
#include <vector>

namespace moexp::report {

// `s` with <, >, & and " escaped for HTML text and attributes.
std::string html_escape(const std::string& s);

// A heatmap of `mean` (rows x columns, values >= 0) with row and column labels, a colour scale from 0 to the largest
// value, and on hover each cell's value (and ± its `std` when given, same shape). `title` captions it.
std::string svg_heatmap(const Matrix& mean, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& column_labels, const std::string& title,
                        const Matrix* std = nullptr);

// One point of a point plot: its category on the x axis, its series (colour), mean and error (±).
struct PlotPoint {
  std::string category;  // x position ("relative")
  std::string series;    // colour, side by side within a category ("E=4"); "" for one series
  double mean = 0, error = 0;
  std::optional<double> control;  // a hollow grey marker beside it (the shuffled-label control of an MI)
};

// Points with ±error bars, categories along x in first-seen order and series side by side within each; `y_label`
// heads the y axis, `decimals` its ticks; `control_label` names the hollow markers in the legend.
std::string svg_points(const std::vector<PlotPoint>& points, const std::string& title, const std::string& y_label,
                       int decimals, const std::string& control_label = "");

// One line of a line plot: y per x = 1..N (nullopt: a gap), with an optional ±band of the same length.
struct PlotLine {
  std::string label;
  std::vector<std::optional<double>> y;
  std::vector<double> band;  // empty: no band
};

// Lines against x = 1..N with shaded ±bands, a legend and y ticks with `decimals`.
std::string svg_line_plot(const std::vector<PlotLine>& lines, const std::string& title, const std::string& x_label,
                          int decimals);

}  // namespace moexp::report
