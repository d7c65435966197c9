#include "train/routing_stats.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace moexp;

TEST_CASE("routing statistics: hand-computed shares, matrices and co-activation") {
  // 4 samples, E = 3, k = 2. Classes 0,0,1,2; superclasses: class 0 -> 0, classes 1,2 -> 1.
  moe::MoeOutput out;
  out.weights_be =
      torch::tensor({{0.75, 0.25, 0.0}, {0.5, 0.5, 0.0}, {0.0, 0.5, 0.5}, {0.0, 0.25, 0.75}}, torch::kFloat);
  out.topk_idx_bk = torch::tensor({{0, 1}, {1, 0}, {1, 2}, {2, 1}}, torch::kLong);
  train::RoutingAccumulator acc({1}, 3, {{{kClassGroup, 3}, {kSuperclassGroup, 2}}, 0.9});
  acc.add({out}, torch::tensor({{0, 0}, {0, 0}, {1, 1}, {2, 1}}, torch::kLong));
  auto layers = acc.summarize();
  REQUIRE(layers.size() == 1);
  const auto& l = layers[0];
  CHECK(l.samples == 4);
  CHECK(l.importance_share[0] == doctest::Approx(1.25 / 4));
  CHECK(l.importance_share[1] == doctest::Approx(1.5 / 4));
  CHECK(l.importance_share[2] == doctest::Approx(1.25 / 4));
  CHECK(l.sample_share == std::vector<double>{0.5, 1.0, 0.5});
  REQUIRE(l.groups.size() == 2);
  const auto& classes = l.groups[0];
  const auto& superclasses = l.groups[1];
  CHECK(classes.kind == "class");
  CHECK(superclasses.kind == "superclass");
  // class 0: mean of rows 0 and 1
  CHECK(classes.group_expert[0][0] == doctest::Approx(0.625));
  CHECK(classes.group_expert[0][1] == doctest::Approx(0.375));
  CHECK(classes.group_expert[2][2] == doctest::Approx(0.75));
  CHECK(classes.group_samples == std::vector<std::int64_t>{2, 1, 1});
  // superclass 1 = samples 2 and 3
  CHECK(superclasses.group_expert[1][1] == doctest::Approx(0.375));
  CHECK(superclasses.group_expert[1][2] == doctest::Approx(0.625));
  CHECK(superclasses.group_samples == std::vector<std::int64_t>{2, 2});
  for (const auto& row : classes.group_expert) {
    double sum = 0;
    for (double w : row)
      sum += w;
    CHECK(sum == doctest::Approx(1.0));
  }
  // pairs: {0,1} twice, {1,2} twice
  CHECK(l.coactivation[0 * 3 + 1] == 2);
  CHECK(l.coactivation[1 * 3 + 2] == 2);
  CHECK(l.coactivation[0 * 3 + 2] == 0);
  // the chosen set is a function of the superclass: superclass MI is 1
  CHECK(superclasses.mi == doctest::Approx(1.0));
  CHECK(classes.mi == doctest::Approx(1.0));
  CHECK(l.sample_entropy > 0.0);
  CHECK_FALSE(l.collapsed);
}

TEST_CASE("routing statistics: tokens are rows, so several tokens per image (detection levels) fit") {
  // 3 images x 2 levels = 6 tokens, E = 2, k = 1, labelled by one kind ("level": 0 or 1). Level 0 always goes to
  // expert 0 and level 1 to expert 1, so the chosen set is a function of the level.
  moe::MoeOutput out;
  out.weights_be = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {0.0, 1.0}});
  out.topk_idx_bk = torch::tensor({{0}, {1}, {0}, {1}, {0}, {1}}, torch::kLong);
  train::RoutingAccumulator acc({3}, 2, {{{"level", 2}}, 0.9});
  acc.add({out}, torch::tensor({{0}, {1}, {0}, {1}, {0}, {1}}, torch::kLong));
  const auto layers = acc.summarize();
  REQUIRE(layers.size() == 1);
  CHECK(layers[0].samples == 6);
  REQUIRE(layers[0].group("level") != nullptr);
  const auto& level = *layers[0].group("level");
  CHECK(level.group_expert == std::vector<std::vector<double>>{{1.0, 0.0}, {0.0, 1.0}});
  CHECK(level.group_samples == std::vector<std::int64_t>{3, 3});
  CHECK(level.mi == doctest::Approx(1.0));
  CHECK(layers[0].group(kClassGroup) == nullptr);
}

TEST_CASE("routing statistics: labels with the wrong number of kinds are refused") {
  moe::MoeOutput out;
  out.weights_be = torch::tensor({{1.0, 0.0}});
  out.topk_idx_bk = torch::tensor({{0}}, torch::kLong);
  train::RoutingAccumulator acc({1}, 2, {{{kClassGroup, 2}, {kSuperclassGroup, 1}}, 0.9});
  CHECK_THROWS(acc.add({out}, torch::tensor({0}, torch::kLong)));
}

namespace {

// 600 object tokens on 4 levels of 150 images: size follows the level (level 0 small ... level 3 large) with a third
// of the tokens of a random size; the chosen expert is `route(level, size)`. Labels: size, class (all 0), level,
// image.
template <typename Route>
std::vector<LayerRouting> object_tokens(Route route) {
  const std::int64_t n = 600;
  auto weights = torch::zeros({n, 4});
  auto idx = torch::zeros({n, 1}, torch::kLong);
  auto labels = torch::zeros({n, 4}, torch::kLong);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t level = i % 4;
    const std::int64_t size = (i / 4) % 3 == 0 ? (i / 12) % 3 : std::min<std::int64_t>(2, level * 2 / 3);
    const std::int64_t expert = route(level, size, i);
    weights[i][expert] = 1.0;
    idx[i][0] = expert;
    labels[i][0] = size;
    labels[i][2] = level;
    labels[i][3] = i / 4;  // image
  }
  moe::MoeOutput out;
  out.weights_be = weights;
  out.topk_idx_bk = idx;
  train::RoutingAccumulator acc({3}, 4, {{{kSizeGroup, 3}, {kClassGroup, 1}}, 0.9, {kLevelGroup, "image"}});
  acc.add({out}, labels);
  return acc.summarize();
}

}  // namespace

TEST_CASE("routing statistics: size MI that the level explains has no specialisation left given the level") {
  const auto layers = object_tokens([](std::int64_t level, std::int64_t, std::int64_t) { return level; });
  const auto* size = layers[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  CHECK(size->mi > 0.2);  // looks like size specialisation
  CHECK(size->mi_null.permutations == kDefaultPermutations);
  CHECK(size->null_design == kNullUnitsShuffled);
  const auto* given_level = size->given_figure(kLevelGroup);
  REQUIRE(given_level != nullptr);
  CHECK(given_level->mi.observed == doctest::Approx(0.0));  // the expert is a function of the level
  CHECK(given_level->mi.p_value == 1.0);
  // The class (one class here) leaves nothing to condition on: the figure given both is the figure given the level.
  const auto* given_both = size->given_figure("level_and_class");
  REQUIRE(given_both != nullptr);
  CHECK(given_both->mi.observed == doctest::Approx(0.0));
}

TEST_CASE("routing statistics: routing by size within each level is specialisation given the level, p at its floor") {
  const auto layers = object_tokens([](std::int64_t, std::int64_t size, std::int64_t) { return size; });
  const auto* size = layers[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  const auto* given_level = size->given_figure(kLevelGroup);
  REQUIRE(given_level != nullptr);
  CHECK(given_level->mi.observed > 0.3);
  CHECK(given_level->mi.p_value == doctest::Approx(1.0 / 201));
  CHECK(size->mi_null.seed == kNullSeed);
}
