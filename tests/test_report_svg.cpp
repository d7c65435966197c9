#include "report/svg.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace moexp::report;

TEST_CASE("svg: a heatmap has a colour scale from 0 to its largest value and each cell's value on hover") {
  const Matrix mean{{0.25, 0.75}, {0.5, 0.5}};
  const Matrix std{{0.01, 0.02}, {0.03, 0.04}};
  const auto svg = svg_heatmap(mean, {"small", "large<"}, {"e0", "e1"}, "size x expert", &std);
  CHECK(svg.find("<title>small / e1: 0.750 ± 0.020</title>") != std::string::npos);
  CHECK(svg.find("large&lt;") != std::string::npos);  // labels are escaped
  CHECK(svg.find(">0.75</text>") != std::string::npos);
  CHECK(svg.find(">0</text>") != std::string::npos);
  // Counts (co-activation) are written whole on the scale, not as 2.32e+03.
  const auto counts = svg_heatmap({{0, 2320}, {2320, 0}}, {"e0", "e1"}, {"e0", "e1"}, "pair co-activation");
  CHECK(counts.find(">2320</text>") != std::string::npos);
  CHECK(svg_heatmap({}, {}, {}, "empty").empty());
}

TEST_CASE("svg: point plots label a tick at zero as 0, never -0") {
  const std::vector<PlotPoint> points{{"none", "E=4", 0.04, 0.05, 0.001}, {"kl", "E=4", 0.25, 0.14, 0.002}};
  const auto svg = svg_points(points, "superclass MI per scheme", "superclass MI", 3, "MI control");
  CHECK(svg.find(">0.000</text>") != std::string::npos);
  CHECK(svg.find(">-0.000</text>") == std::string::npos);
  CHECK(svg.find("MI control") != std::string::npos);
}

TEST_CASE("svg: a line of a single epoch is drawn as a marker with its band as an error bar") {
  const std::vector<PlotLine> lines{{"importance E=4", {0.81}, {0.02}}, {"relative E=4", {0.79, 0.8}, {}}};
  const auto svg = svg_line_plot(lines, "test accuracy per epoch", "epoch", 2);
  // The single-epoch line has a marker with its value; the two-epoch line draws a polyline and no marker.
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(svg.find("<title>importance E=4: 0.810</title></circle>") != std::string::npos);
  CHECK(svg.find("<title>relative E=4: ") == std::string::npos);
  CHECK(svg.find("stroke-opacity=\"0.5\"") != std::string::npos);  // the error bar of the band
  const auto single = svg_line_plot({{"a", {0.5}, {}}, {"b", {0.5}, {}}}, "t", "epoch", 2);
  CHECK(single.find(">1</text>") != std::string::npos);  // the one epoch has its tick
  // Equal values of two lines stand side by side, not on top of each other.
  const auto a_at = single.find("<circle cx=\"");
  const auto b_at = single.find("<circle cx=\"", a_at + 1);
  REQUIRE(b_at != std::string::npos);
  CHECK(single.substr(a_at, 20) != single.substr(b_at, 20));
  // A point between two missing epochs is isolated too.
  const auto gap = svg_line_plot({{"a", {0.5, std::nullopt, 0.6, std::nullopt}, {}}}, "t", "epoch", 2);
  CHECK(gap.find("<title>a: 0.500</title></circle>") != std::string::npos);
  CHECK(gap.find("<title>a: 0.600</title></circle>") != std::string::npos);
}

TEST_CASE("svg: point plots give every category label room: wider slots, slanted when still too long") {
  // Short labels: upright, and the slot at least as wide as the longest label, so neighbours never touch.
  const std::vector<PlotPoint> schemes{{"importance", "", 0.8, 0.01, {}}, {"relative", "", 0.82, 0.01, {}}};
  const auto svg = svg_points(schemes, "test accuracy per scheme", "test accuracy", 2);
  CHECK(svg.find("rotate(-35") == std::string::npos);
  const auto first = svg.find(">importance</text>");
  const auto second = svg.find(">relative</text>");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  auto x_of = [&](std::size_t end) {
    const auto start = svg.rfind("<text x=\"", end) + 9;
    return std::stod(svg.substr(start, svg.find('"', start) - start));
  };
  // Centred labels of 10 and 8 characters at ~6.5 px each: their centres are at least (65 + 52) / 2 apart.
  CHECK(x_of(second) - x_of(first) >= 58.5);
  // Labels longer than the widest slot are written at an angle, each once.
  const std::vector<PlotPoint> long_names{{"importance, residual, conv_gap_fc gate", "", 0.8, 0.01, {}},
                                          {"relative, residual, conv_gap_fc gate", "", 0.82, 0.01, {}}};
  const auto slanted = svg_points(long_names, "t", "y", 2);
  CHECK(slanted.find("rotate(-35") != std::string::npos);
  CHECK(slanted.find(">importance, residual, conv_gap_fc gate</text>") != std::string::npos);
}
