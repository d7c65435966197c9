#include "core/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace moexp;

TEST_CASE("metrics: coefficient of variation is population std over mean") {
  CHECK(coefficient_of_variation({1, 1, 1, 1}) == doctest::Approx(0.0));
  // mean 0.25, population std sqrt(3)/4 -> CV sqrt(3)
  CHECK(coefficient_of_variation({1, 0, 0, 0}) == doctest::Approx(std::sqrt(3.0)));
  CHECK(coefficient_of_variation({}) == 0.0);
  CHECK(coefficient_of_variation({0, 0}) == 0.0);
}

TEST_CASE("metrics: summarize_routing counts living experts above 1%") {
  LayerRouting layer;
  layer.importance_share = {0.6, 0.395, 0.005, 0.0};
  layer.sample_share = {1.0, 0.9, 0.1, 0.0};
  summarize_routing(layer);
  CHECK(layer.living_experts == 2);
  CHECK(layer.importance_cv == doctest::Approx(coefficient_of_variation(layer.importance_share)));
  CHECK(layer.sample_cv == doctest::Approx(coefficient_of_variation(layer.sample_share)));
}
