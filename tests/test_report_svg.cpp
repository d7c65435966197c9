#include "report/svg.hpp"

#include <doctest/doctest.h>

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
