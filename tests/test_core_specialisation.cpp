#include "core/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>

using namespace moexp;

TEST_CASE("specialisation: MI is 1 when the chosen set is a function of the class") {
  std::vector<std::int64_t> labels, symbols;
  for (int i = 0; i < 400; ++i) {
    labels.push_back(i % 4);
    symbols.push_back((i % 4) < 2 ? 0b0011 : 0b1100);  // classes 0,1 -> {0,1}; classes 2,3 -> {2,3}
  }
  CHECK(normalized_mutual_information(labels, symbols) == doctest::Approx(1.0));
  // The shuffled-label control of the same routing is near 0.
  CHECK(shuffled_mutual_information(labels, symbols) < 0.02);
}

TEST_CASE("specialisation: MI is near 0 for routing independent of the class, and 0 for a collapsed layer") {
  std::mt19937 rng(7);
  std::vector<std::int64_t> labels, symbols, same;
  for (int i = 0; i < 20000; ++i) {
    labels.push_back(static_cast<std::int64_t>(rng() % 10));
    symbols.push_back(1LL << (rng() % 4));
    same.push_back(0b11);
  }
  CHECK(normalized_mutual_information(labels, symbols) < 0.01);
  CHECK(normalized_mutual_information(labels, same) == 0.0);
  CHECK(normalized_mutual_information({}, {}) == 0.0);
}

TEST_CASE("specialisation: partial dependence lies strictly between 0 and 1") {
  // H(S) = 1 bit; class determines the set for half the samples.
  std::vector<std::int64_t> labels{0, 0, 1, 1, 0, 0, 1, 1};
  std::vector<std::int64_t> symbols{1, 1, 2, 2, 1, 2, 1, 2};
  const double mi = normalized_mutual_information(labels, symbols);
  CHECK(mi > 0.1);
  CHECK(mi < 0.9);
}

TEST_CASE("specialisation: entropy and collapse flag") {
  CHECK(entropy({0.5, 0.5}) == doctest::Approx(std::log(2.0)));
  CHECK(entropy({1.0, 0.0}) == doctest::Approx(0.0));
  LayerRouting layer;
  layer.importance_share = {0.95, 0.05};
  layer.sample_share = {1.0, 1.0};
  summarize_routing(layer);
  CHECK(layer.collapsed);
  CHECK(layer.max_share == doctest::Approx(0.95));
  summarize_routing(layer, 0.97);
  CHECK_FALSE(layer.collapsed);
}
