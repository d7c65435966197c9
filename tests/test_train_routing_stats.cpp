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

// The routing statistics of one layer of 4 experts (k=1) over detection-like object tokens: `weights` [N, 4],
// `idx` [N, 1] and `labels` [N, 4] (size of 3 buckets, class of `classes`, then the level and image context).
std::vector<LayerRouting> summarize_object_tokens(const torch::Tensor& weights, const torch::Tensor& idx,
                                                  const torch::Tensor& labels, std::int64_t classes) {
  moe::MoeOutput out;
  out.weights_be = weights;
  out.topk_idx_bk = idx;
  train::RoutingAccumulator acc({3}, 4, {{{kSizeGroup, 3}, {kClassGroup, classes}}, 0.9, {kLevelGroup, "image"}});
  acc.add({out}, labels);
  return acc.summarize();
}

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
  return summarize_object_tokens(weights, idx, labels, 1);
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

namespace {

// 800 object tokens: 100 images x 4 levels, 2 objects per (image, level) unit. Each unit has a class and a size
// (`unit_class`, `unit_size` of its image and level); its first object takes the unit's class and size, its second
// the unit's size and `second_class`'s class. Every object of a unit is routed to `route(level, class, size)` of
// the unit, as detection's object tokens inherit their unit's routing. Labels: size, class (2), level, image.
template <typename UnitClass, typename UnitSize, typename SecondClass, typename Route>
std::vector<LayerRouting> two_object_units(UnitClass unit_class, UnitSize unit_size, SecondClass second_class,
                                           Route route) {
  const std::int64_t n = 800;
  auto weights = torch::zeros({n, 4});
  auto idx = torch::zeros({n, 1}, torch::kLong);
  auto labels = torch::zeros({n, 4}, torch::kLong);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t image = i / 8, level = (i / 2) % 4;
    const std::int64_t cls = unit_class(image, level), size = unit_size(image, level);
    const std::int64_t expert = route(level, cls, size);
    weights[i][expert] = 1.0;
    idx[i][0] = expert;
    labels[i][0] = size;
    labels[i][1] = i % 2 == 0 ? cls : second_class(cls);
    labels[i][2] = level;
    labels[i][3] = image;
  }
  return summarize_object_tokens(weights, idx, labels, 2);
}

}  // namespace

TEST_CASE("routing statistics: size information that the class carries has no specialisation given level and class") {
  // The class sets the size within a level (the shapes set's confound); the routing follows the class.
  const auto layers = two_object_units([](std::int64_t image, std::int64_t level) { return (image + level) % 2; },
                                       [](std::int64_t image, std::int64_t level) { return (image + level) % 2; },
                                       [](std::int64_t cls) { return cls; },
                                       [](std::int64_t, std::int64_t cls, std::int64_t) { return cls; });
  const auto* size = layers[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  REQUIRE(size->given.size() == 2);
  CHECK(size->given[0].given == kLevelGroup);
  CHECK(size->given[0].mi.observed > 0.9);  // given the level alone, size looks like all there is
  CHECK(size->given[0].mi.p_value == doctest::Approx(1.0 / 201));
  CHECK(size->given[1].given == "level_and_class");
  CHECK(size->given[1].mi.observed == doctest::Approx(0.0));
  CHECK(size->given[1].mi.p_value == 1.0);
  const auto* cls = layers[0].group(kClassGroup);
  REQUIRE(cls != nullptr);
  REQUIRE(cls->given_figure("level_and_size") != nullptr);
  CHECK(cls->given_figure("level_and_size")->mi.observed == doctest::Approx(0.0));
}

TEST_CASE("routing statistics: routing by size within level and class survives the null, units of mixed classes") {
  // Size and class vary independently over the units; a unit's two objects differ in class; routing by size.
  const auto layers = two_object_units([](std::int64_t image, std::int64_t) { return (image / 3) % 2; },
                                       [](std::int64_t image, std::int64_t level) { return (image + level) % 3; },
                                       [](std::int64_t cls) { return 1 - cls; },
                                       [](std::int64_t, std::int64_t, std::int64_t size) { return size; });
  const auto* size = layers[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  const auto* both = size->given_figure("level_and_class");
  REQUIRE(both != nullptr);
  CHECK(both->mi.observed > 0.9);
  CHECK(both->mi.p_value == doctest::Approx(1.0 / 201));
  CHECK(both->mi.permutations == kDefaultPermutations);
  const auto* cls = layers[0].group(kClassGroup);
  REQUIRE(cls != nullptr);
  const auto* class_given_both = cls->given_figure("level_and_size");
  REQUIRE(class_given_both != nullptr);
  CHECK(class_given_both->mi.observed < 0.05);  // the class adds nothing once the size is known
  CHECK(class_given_both->mi.p_value > 0.05);
}
