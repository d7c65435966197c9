#include "core/group_nulls.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace moexp;

namespace {

// 800 object tokens: 100 images x 4 levels, 2 objects per (image, level) unit. Each unit has a class and a size
// (`unit_class`, `unit_size` of its image and level); its first object takes the unit's class and size, its second
// the unit's size and `second_class`'s class. Every object of a unit is routed to expert `route(level, class, size)`
// of the unit (k=1), as detection's object tokens inherit their unit's routing. Returns the size and class groups
// with their nulls.
template <typename UnitClass, typename UnitSize, typename SecondClass, typename Route>
std::vector<GroupRouting> two_object_units(UnitClass unit_class, UnitSize unit_size, SecondClass second_class,
                                           Route route) {
  RoutingTokens tokens;
  tokens.kinds = {kSizeGroup, kClassGroup};
  tokens.labels.resize(2);
  for (std::int64_t i = 0; i < 800; ++i) {
    const std::int64_t image = i / 8, level = (i / 2) % 4;
    const std::int64_t cls = unit_class(image, level), size = unit_size(image, level);
    tokens.symbols.push_back(std::int64_t{1} << route(level, cls, size));
    tokens.labels[0].push_back(size);
    tokens.labels[1].push_back(i % 2 == 0 ? cls : second_class(cls));
    tokens.levels.push_back(level);
    tokens.images.push_back(image);
  }
  std::vector<GroupRouting> groups(2);
  for (std::size_t k = 0; k < 2; ++k) {
    groups[k].kind = tokens.kinds[k];
    add_specialisation_nulls(groups[k], k, tokens, kDefaultPermutations);
  }
  return groups;
}

}  // namespace

TEST_CASE("group nulls: size information that the class carries has no specialisation given level and class") {
  // The class sets the size within a level (the shapes set's confound); the routing follows the class.
  const auto size_class = two_object_units([](std::int64_t image, std::int64_t level) { return (image + level) % 2; },
                                           [](std::int64_t image, std::int64_t level) { return (image + level) % 2; },
                                           [](std::int64_t cls) { return cls; },
                                           [](std::int64_t, std::int64_t cls, std::int64_t) { return cls; });
  const auto* size = &size_class[0];
  REQUIRE(size->given.size() == 2);
  CHECK(size->given[0].given == kLevelGroup);
  CHECK(size->given[0].mi.observed > 0.9);  // given the level alone, size looks like all there is
  CHECK(size->given[0].mi.p_value == doctest::Approx(1.0 / 201));
  CHECK(size->given[1].given == "level_and_class");
  CHECK(size->given[1].mi.observed == doctest::Approx(0.0));
  CHECK(size->given[1].mi.p_value == 1.0);
  const auto* cls = &size_class[1];
  REQUIRE(cls->given_figure("level_and_size") != nullptr);
  CHECK(cls->given_figure("level_and_size")->mi.observed == doctest::Approx(0.0));
}

TEST_CASE("group nulls: routing by size within level and class survives the null, units of mixed classes") {
  // Size and class vary independently over the units; a unit's two objects differ in class; routing by size.
  const auto size_class = two_object_units([](std::int64_t image, std::int64_t) { return (image / 3) % 2; },
                                           [](std::int64_t image, std::int64_t level) { return (image + level) % 3; },
                                           [](std::int64_t cls) { return 1 - cls; },
                                           [](std::int64_t, std::int64_t, std::int64_t size) { return size; });
  const auto* size = &size_class[0];
  const auto* both = size->given_figure("level_and_class");
  REQUIRE(both != nullptr);
  CHECK(both->mi.observed > 0.9);
  CHECK(both->mi.p_value == doctest::Approx(1.0 / 201));
  CHECK(both->mi.permutations == kDefaultPermutations);
  const auto* cls = &size_class[1];
  const auto* class_given_both = cls->given_figure("level_and_size");
  REQUIRE(class_given_both != nullptr);
  CHECK(class_given_both->mi.observed < 0.05);  // the class adds nothing once the size is known
  CHECK(class_given_both->mi.p_value > 0.05);
}

TEST_CASE("group nulls: routing units are the distinct (image, level) pairs, none without images or levels") {
  CHECK(routing_units({4, 4, 5, 4}, {0, 1, 0, 0}) == std::vector<std::int64_t>{0, 1, 2, 0});
  CHECK(routing_units({}, {0, 1}).empty());
  CHECK(routing_units({1, 2}, {}).empty());
}

TEST_CASE("group nulls: classification tokens get the MI's label-shuffling null and no conditional figures") {
  RoutingTokens tokens;
  tokens.kinds = {kClassGroup, kSuperclassGroup};
  tokens.labels.resize(2);
  for (std::int64_t i = 0; i < 400; ++i) {
    tokens.labels[0].push_back(i % 4);
    tokens.labels[1].push_back(i % 4 / 2);
    tokens.symbols.push_back(std::int64_t{1} << (i % 4 / 2));  // routing by superclass
  }
  GroupRouting superclass{};
  superclass.kind = kSuperclassGroup;
  add_specialisation_nulls(superclass, 1, tokens, 99);
  CHECK(superclass.null_design == kNullLabelsShuffled);
  CHECK(superclass.mi_null.observed == doctest::Approx(1.0));
  CHECK(superclass.mi_null.p_value == doctest::Approx(1.0 / 100));
  CHECK(superclass.mi_null.permutations == 99);
  CHECK(superclass.given.empty());
  GroupRouting none{};
  none.kind = kClassGroup;
  add_specialisation_nulls(none, 0, tokens, 0);  // no permutations: nothing computed
  CHECK(none.mi_null.permutations == 0);
  CHECK(none.null_design.empty());
}
