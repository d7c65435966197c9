#include "report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace moexp::report {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::size_t kColorCount = sizeof(kColors) / sizeof(kColors[0]);
// About how wide one character of a label is at font size 11, in px.
constexpr double kCharWidth = 6.5;

// White (0) to dark blue (1).
std::string shade(double v) {
  v = std::clamp(v, 0.0, 1.0);
  const int r = static_cast<int>(std::lround(255 - 225 * v)), g = static_cast<int>(std::lround(255 - 175 * v));
  return fmt::format("rgb({},{},{})", r, g, static_cast<int>(std::lround(255 - 75 * v)));
}

std::string open_figure(const std::string& title, double w, double h) {
  return fmt::format(
      "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" role=\"img\" aria-label=\"{}\">\n",
      html_escape(title), w, h, html_escape(title));
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 11,
                 const char* fill = "#222") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\">{}</text>\n", x,
                     y, size, anchor, fill, html_escape(s));
}

// Round tick positions covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 4;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);  // no "-0.000" from accumulated rounding
  }
  return out;
}

// Widen a degenerate range and pad it by 5%.
void pad_range(double& lo, double& hi) {
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '&':
        out.append("&amp;");
        break;
      case '"':
        out.append("&quot;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string svg_heatmap(const Matrix& m, const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                        const std::string& title, const Matrix* std) {
  if (m.empty() || m.front().empty()) {
    return "";
  }
  double max = 0;
  for (const auto& r : m)
    for (double v : r)
      max = std::max(max, v);
  const double scale_max = max > 0 ? max : 1;
  const double cell = 22, label_w = 150, top = 30, scale_w = 80;
  const std::size_t nr = m.size(), nc = m.front().size();
  const double grid_w = cell * static_cast<double>(nc), grid_h = cell * static_cast<double>(nr);
  const double w = label_w + grid_w + scale_w, h = top + std::max(grid_h, 120.0) + 10;
  std::string svg = open_figure(title, w, h);
  for (std::size_t c = 0; c < nc; ++c) {
    svg +=
        text(label_w + cell * (static_cast<double>(c) + 0.5), top - 8, c < cols.size() ? cols[c] : std::to_string(c));
  }
  for (std::size_t r = 0; r < nr; ++r) {
    const std::string row = r < rows.size() ? rows[r] : std::to_string(r);
    svg += text(label_w - 6, top + cell * (static_cast<double>(r) + 0.7), row, "end");
    for (std::size_t c = 0; c < m[r].size(); ++c) {
      const std::string col = c < cols.size() ? cols[c] : std::to_string(c);
      const bool with_std = std != nullptr && r < std->size() && c < (*std)[r].size();
      const std::string value =
          with_std ? fmt::format("{:.3f} ± {:.3f}", m[r][c], (*std)[r][c]) : fmt::format("{:.3f}", m[r][c]);
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} / {}: {}"
          "</title></rect>\n",
          label_w + cell * static_cast<double>(c), top + cell * static_cast<double>(r), cell - 1, cell - 1,
          shade(m[r][c] / scale_max), html_escape(row), html_escape(col), value);
    }
  }
  // The colour scale: a vertical gradient of 10 steps from the largest value (top) to 0.
  const double sx = label_w + grid_w + 14, sh = std::min(std::max(grid_h, 120.0), 200.0);
  for (int i = 0; i < 10; ++i) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"{:.1f}\" fill=\"{}\"/>\n", sx,
                       top + sh * i / 10.0, sh / 10.0 + 0.5, shade(1.0 - (i + 0.5) / 10.0));
  }
  svg += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"12\" height=\"{:.1f}\" fill=\"none\" stroke=\"#999\"/>\n", sx,
                     top, sh);
  // Counts (co-activation) are written whole: "2320", not "2.32e+03".
  svg += text(sx + 16, top + 9, max >= 1000 ? fmt::format("{:.0f}", max) : fmt::format("{:.3g}", max), "start", 10);
  svg += text(sx + 16, top + sh, "0", "start", 10);
  return svg + "</svg></figure>\n";
}

std::string svg_points(const std::vector<PlotPoint>& points, const std::string& title, const std::string& y_label,
                       int decimals, const std::string& control_label) {
  if (points.empty()) {
    return "";
  }
  std::vector<std::string> categories, series;
  double lo = 1e300, hi = -1e300;
  bool controls = false;
  for (const auto& p : points) {
    if (std::find(categories.begin(), categories.end(), p.category) == categories.end())
      categories.push_back(p.category);
    if (std::find(series.begin(), series.end(), p.series) == series.end())
      series.push_back(p.series);
    lo = std::min(lo, p.mean - p.error);
    hi = std::max(hi, p.mean + p.error);
    if (p.control) {
      controls = true;
      lo = std::min(lo, *p.control);
      hi = std::max(hi, *p.control);
    }
  }
  pad_range(lo, hi);
  // A category's slot is wide enough for its markers and, up to kMaxSlot, for its label; longer labels are
  // written at an angle below the axis so that neighbours never run together.
  constexpr double kMaxSlot = 140;
  std::size_t longest_category = 0;
  for (const auto& c : categories) {
    longest_category = std::max(longest_category, c.size());
  }
  const double label_w = kCharWidth * static_cast<double>(longest_category) + 12;
  const double marker_slot = 22.0 * static_cast<double>(series.size()) * (controls ? 1.6 : 1.0) + 28;
  const double slot = std::max(marker_slot, std::min(label_w, kMaxSlot));
  const bool slanted = label_w > slot;
  const double left = 60, top = 14;
  const double bottom = slanted ? 30 + 0.6 * std::min(label_w, 260.0) : 56;
  // The legend is as wide as its longest label.
  std::size_t longest = controls ? control_label.size() : 0;
  for (const auto& s : series) {
    longest = std::max(longest, s.size());
  }
  const double legend_w = std::max(150.0, 34 + kCharWidth * static_cast<double>(longest));
  const double plot_w = std::max(slot * static_cast<double>(categories.size()), 240.0);
  const double w = left + plot_w + legend_w, h = 194 + bottom;
  auto Y = [&](double y) { return top + (1 - (y - lo) / (hi - lo)) * (h - top - bottom); };
  std::string svg = open_figure(title, w, h);
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333\"/><line x1=\"{0}\" y1=\"{3}\" "
      "x2=\"{0}\" y2=\"{1}\" stroke=\"#333\"/>\n",
      left, h - bottom, left + plot_w, top);
  for (double t : ticks(lo, hi)) {
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", left + 1, Y(t),
                       left + plot_w, Y(t));
    svg += text(left - 6, Y(t) + 4, fmt::format("{:.{}f}", t, decimals), "end");
  }
  svg += fmt::format(
      "<text x=\"14\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 14 "
      "{:.1f})\">{}</text>\n",
      (top + h - bottom) / 2, (top + h - bottom) / 2, html_escape(y_label));
  const double step = slot;
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const double x = left + step * (static_cast<double>(c) + 0.5);
    if (slanted) {
      svg += fmt::format(
          "<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"11\" text-anchor=\"end\" "
          "transform=\"rotate(-35 {0:.1f} {1:.1f})\">{2}</text>\n",
          x + 4, h - bottom + 14, html_escape(categories[c]));
    } else {
      svg += text(x, h - bottom + 16, categories[c]);
    }
  }
  for (const auto& p : points) {
    const auto c =
        static_cast<double>(std::find(categories.begin(), categories.end(), p.category) - categories.begin());
    const auto s = static_cast<std::size_t>(std::find(series.begin(), series.end(), p.series) - series.begin());
    const double inner = (step - 28) / static_cast<double>(series.size());
    const double x = left + step * c + 14 + inner * (static_cast<double>(s) + (controls ? 0.35 : 0.5));
    const char* color = kColors[s % kColorCount];
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>"
        "<line x1=\"{4:.1f}\" y1=\"{1:.1f}\" x2=\"{5:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\"/>"
        "<line x1=\"{4:.1f}\" y1=\"{2:.1f}\" x2=\"{5:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>\n",
        x, Y(p.mean - p.error), Y(p.mean + p.error), color, x - 3, x + 3);
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>{}{}: {:.{}f} ± {:.{}f}"
        "</title></circle>\n",
        x, Y(p.mean), color, html_escape(p.category), p.series.empty() ? "" : ", " + html_escape(p.series), p.mean,
        decimals + 1, p.error, decimals + 1);
    if (p.control) {
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"white\" stroke=\"#777\" "
          "stroke-width=\"1.5\"><title>{}: {:.{}f}</title></circle>\n",
          x + inner * 0.35, Y(*p.control), html_escape(control_label), *p.control, decimals + 1);
    }
  }
  double ly = top + 12;
  for (std::size_t s = 0; s < series.size(); ++s) {
    if (series.size() == 1 && series[s].empty())
      break;
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>", left + plot_w + 16, ly - 4,
                       kColors[s % kColorCount]);
    svg += text(left + plot_w + 26, ly, series[s], "start");
    ly += 16;
  }
  if (controls) {
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"white\" stroke=\"#777\"/>",
                       left + plot_w + 16, ly - 4);
    svg += text(left + plot_w + 26, ly, control_label, "start");
  }
  return svg + "</svg></figure>\n";
}

std::string svg_line_plot(const std::vector<PlotLine>& lines, const std::string& title, const std::string& x_label,
                          int decimals) {
  std::size_t n = 0;
  double lo = 1e300, hi = -1e300;
  for (const auto& l : lines) {
    n = std::max(n, l.y.size());
    for (std::size_t i = 0; i < l.y.size(); ++i) {
      if (!l.y[i])
        continue;
      const double b = i < l.band.size() ? l.band[i] : 0;
      lo = std::min(lo, *l.y[i] - b);
      hi = std::max(hi, *l.y[i] + b);
    }
  }
  if (n == 0 || lo > hi) {
    return "";
  }
  pad_range(lo, hi);
  const double w = 560, h = 260, left = 56, right = 190, top = 12, bottom = 36;
  auto X = [&](double i) { return left + (n > 1 ? i / static_cast<double>(n - 1) : 0.5) * (w - left - right); };
  auto Y = [&](double y) { return top + (1 - (y - lo) / (hi - lo)) * (h - top - bottom); };
  std::string svg = open_figure(title, w, h);
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333\"/><line x1=\"{0}\" y1=\"{3}\" "
      "x2=\"{0}\" y2=\"{1}\" stroke=\"#333\"/>\n",
      left, h - bottom, w - right, top);
  for (double t : ticks(lo, hi)) {
    svg += text(left - 6, Y(t) + 4, fmt::format("{:.{}f}", t, decimals), "end");
  }
  if (n == 1) {
    svg += text(X(0), h - bottom + 14, "1");
  }
  for (double t : n > 1 ? ticks(1, static_cast<double>(n)) : std::vector<double>{}) {
    if (std::fabs(t - std::round(t)) < 1e-9 && t >= 1)
      svg += text(X(t - 1), h - bottom + 14, fmt::format("{:g}", t));
  }
  svg += text((left + w - right) / 2, h - 4, x_label);
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const auto& l = lines[k];
    const char* color = kColors[k % kColorCount];
    if (!l.band.empty()) {
      std::string upper, lower;
      for (std::size_t i = 0; i < l.y.size(); ++i) {
        if (!l.y[i] || i >= l.band.size())
          continue;
        upper += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(i)), Y(*l.y[i] + l.band[i]));
        lower.insert(0, fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(i)), Y(*l.y[i] - l.band[i])));
      }
      svg += fmt::format("<polygon points=\"{}{}\" fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n", upper, lower,
                         color);
    }
    std::string points;
    for (std::size_t i = 0; i < l.y.size(); ++i) {
      if (l.y[i])
        points += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(i)), Y(*l.y[i]));
    }
    svg += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"><title>{}</title>"
        "</polyline>\n",
        points, color, html_escape(l.label));
    // A point with no defined neighbour draws no line segment (a group with a single epoch): a marker, and its band
    // as an error bar, make it visible; the lines' markers stand side by side so that equal values stay apart.
    const double dodge = 7.0 * (static_cast<double>(k) - 0.5 * static_cast<double>(lines.size() - 1));
    for (std::size_t i = 0; i < l.y.size(); ++i) {
      const bool before = i > 0 && l.y[i - 1];
      const bool after = i + 1 < l.y.size() && l.y[i + 1];
      if (!l.y[i] || before || after)
        continue;
      const double x = X(static_cast<double>(i)) + dodge;
      if (i < l.band.size() && l.band[i] > 0) {
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
            "stroke-opacity=\"0.5\" stroke-width=\"2\"/>\n",
            x, Y(*l.y[i] - l.band[i]), Y(*l.y[i] + l.band[i]), color);
      }
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>{}: {:.{}f}</title>"
          "</circle>\n",
          x, Y(*l.y[i]), color, html_escape(l.label), *l.y[i], decimals + 1);
    }
    svg += text(w - right + 10, top + 12 + 15 * static_cast<double>(k), l.label, "start", 11, color);
  }
  return svg + "</svg></figure>\n";
}

}  // namespace moexp::report
