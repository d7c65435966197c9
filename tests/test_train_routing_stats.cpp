#include "train/routing_stats.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("routing statistics: hand-computed shares, matrices and co-activation") {
  // 4 samples, E = 3, k = 2. Classes 0,0,1,2; superclasses: class 0 -> 0, classes 1,2 -> 1.
  moe::MoeOutput out;
  out.weights_be = torch::tensor({{0.75, 0.25, 0.0}, {0.5, 0.5, 0.0}, {0.0, 0.5, 0.5}, {0.0, 0.25, 0.75}},
                                 torch::kFloat);
  out.topk_idx_bk = torch::tensor({{0, 1}, {1, 0}, {1, 2}, {2, 1}}, torch::kLong);
  train::RoutingAccumulator acc({1}, 3, {3, {0, 1, 1}, 0.9});
  acc.add({out}, torch::tensor({0, 0, 1, 2}, torch::kLong));
  auto layers = acc.summarize();
  REQUIRE(layers.size() == 1);
  const auto& l = layers[0];
  CHECK(l.samples == 4);
  CHECK(l.importance_share[0] == doctest::Approx(1.25 / 4));
  CHECK(l.importance_share[1] == doctest::Approx(1.5 / 4));
  CHECK(l.importance_share[2] == doctest::Approx(1.25 / 4));
  CHECK(l.sample_share == std::vector<double>{0.5, 1.0, 0.5});
  // class 0: mean of rows 0 and 1
  CHECK(l.class_expert[0][0] == doctest::Approx(0.625));
  CHECK(l.class_expert[0][1] == doctest::Approx(0.375));
  CHECK(l.class_expert[2][2] == doctest::Approx(0.75));
  CHECK(l.class_samples == std::vector<std::int64_t>{2, 1, 1});
  // superclass 1 = samples 2 and 3
  CHECK(l.superclass_expert[1][1] == doctest::Approx(0.375));
  CHECK(l.superclass_expert[1][2] == doctest::Approx(0.625));
  for (const auto& row : l.class_expert) {
    double sum = 0;
    for (double w : row) sum += w;
    CHECK(sum == doctest::Approx(1.0));
  }
  // pairs: {0,1} twice, {1,2} twice
  CHECK(l.coactivation[0 * 3 + 1] == 2);
  CHECK(l.coactivation[1 * 3 + 2] == 2);
  CHECK(l.coactivation[0 * 3 + 2] == 0);
  // the chosen set is a function of the superclass: superclass MI is 1
  CHECK(l.superclass_mi == doctest::Approx(1.0));
  CHECK(l.class_mi == doctest::Approx(1.0));
  CHECK(l.sample_entropy > 0.0);
  CHECK_FALSE(l.collapsed);
}
