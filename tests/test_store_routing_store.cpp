// RoutingStore: routing snapshots with their group x expert rows.
#include "store/result_store.hpp"
#include "store/run_filter.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;
using moexp::test::sample_epoch;
using moexp::test::sample_run;
using moexp::test::stored_routing;

TEST_CASE("store: a routing snapshot round-trips group x expert matrices, co-activation and specialisation") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  auto& l = rec.test_routing[0];
  l.groups.push_back({kClassGroup, {{0.5, 0.25, 0.25, 0.0}, {0.1, 0.2, 0.3, 0.4}}, {3, 5}, 0.4, 0.01});
  l.groups.push_back({kSuperclassGroup, {{0.3, 0.2, 0.3, 0.2}}, {8}, 0.3, 0.02});
  l.coactivation.assign(16, 0);
  l.coactivation[0 * 4 + 3] = 7;
  l.sample_entropy = 0.6;
  db.record_epoch(id, rec);
  auto back = stored_routing(db, id, "test");
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].groups.size() == 2);
  for (std::size_t g = 0; g < 2; ++g) {
    CHECK(back[0].groups[g].kind == l.groups[g].kind);
    CHECK(back[0].groups[g].group_expert == l.groups[g].group_expert);
    CHECK(back[0].groups[g].mi == l.groups[g].mi);
    CHECK(back[0].groups[g].mi_control == l.groups[g].mi_control);
    CHECK(back[0].groups[g].group_samples.empty());  // the split's label counts are not stored per snapshot
  }
  CHECK(back[0].coactivation == l.coactivation);
  CHECK(back[0].sample_entropy == doctest::Approx(0.6));
  CHECK(back[0].importance_share == l.importance_share);
  CHECK(db.runs().classes(id).size() == 2);
  CHECK(db.runs().classes(id)[1].superclass_name == "B");
}

TEST_CASE("store: a new group kind is stored and read back with no change to the store") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  for (auto* layers : {&rec.train_routing, &rec.test_routing}) {
    auto& l = layers->at(0);
    l.groups.push_back({kClassGroup, {{0.5, 0.5, 0.0, 0.0}}, {}, 0.1, 0.0});
    l.groups.push_back({"size", {{1.0, 0.0, 0.0, 0.0}, {0.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 0.5, 0.5}}, {}, 0.9, 0.05});
    l.groups.push_back({kSuperclassGroup, {{0.25, 0.25, 0.25, 0.25}}, {}, 0.2, 0.0});
  }
  db.record_epoch(id, rec);
  for (const char* split : {"train", "test"}) {
    auto back = stored_routing(db, id, split);
    REQUIRE(back.size() == 1);
    const auto& layer = back[0];
    // Kinds come back in registration order: class and superclass are built in, "size" was added after them.
    REQUIRE(layer.groups.size() == 3);
    CHECK(layer.groups[0].kind == "class");
    CHECK(layer.groups[1].kind == "superclass");
    CHECK(layer.groups[2].kind == "size");
    REQUIRE(layer.group("size") != nullptr);
    CHECK(layer.group("size")->group_expert[2][3] == 0.5);
    CHECK(layer.group("size")->mi == 0.9);
    CHECK(layer.group("level") == nullptr);
  }
}

TEST_CASE("store: a group's permutation nulls, and its nulls given the level and given level and class, round-trip") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  auto& l = rec.test_routing[0];
  GroupRouting size{kSizeGroup, {{0.5, 0.5, 0.0, 0.0}}, {}, 0.36, 0.005};
  size.null_design = kNullUnitsShuffled;
  size.mi_null = {0.36, 0.01, 0.002, 1.0 / 201, 200, kNullSeed};
  size.given = {{kLevelGroup, {0.04, 0.035, 0.004, 0.17, 200, kNullSeed}},
                {"level_and_class", {0.02, 0.019, 0.003, 0.4, 200, kNullSeed}}};
  l.groups.push_back(size);
  l.groups.push_back({kClassGroup, {{0.25, 0.25, 0.25, 0.25}}, {}, 0.1, 0.0});  // no nulls computed
  db.record_epoch(id, rec);
  const auto back = stored_routing(db, id, "test");
  REQUIRE(back.size() == 1);
  const auto* s = back[0].group(kSizeGroup);
  REQUIRE(s != nullptr);
  CHECK(s->null_design == kNullUnitsShuffled);
  CHECK(s->mi_null.observed == 0.36);
  CHECK(s->mi_null.null_mean == 0.01);
  CHECK(s->mi_null.null_sd == 0.002);
  CHECK(s->mi_null.p_value == 1.0 / 201);
  CHECK(s->mi_null.permutations == 200);
  CHECK(s->mi_null.seed == kNullSeed);
  REQUIRE(s->given.size() == 2);
  CHECK(s->given_figure(kLevelGroup)->mi.observed == 0.04);
  CHECK(s->given_figure(kLevelGroup)->mi.p_value == 0.17);
  CHECK(s->given_figure("level_and_class")->mi.null_sd == 0.003);
  CHECK(back[0].group(kLevelGroup) == nullptr);  // the kind conditioned on is not a group of the snapshot
  const auto* c = back[0].group(kClassGroup);
  REQUIRE(c != nullptr);
  CHECK(c->mi_null.permutations == 0);
  CHECK(c->given.empty());
  // A report reads them from the run's last test snapshot.
  const auto summaries = db.run_summaries(compile_filter("", db.metrics().keys()), std::nullopt);
  REQUIRE(summaries.size() == 1);
  const auto& r = summaries[0];
  CHECK(r.metric("size_mi") == 0.36);
  CHECK(r.metric("size_mi_null") == 0.01);
  CHECK(r.metric("size_mi_p") == 1.0 / 201);
  CHECK(r.metric("size_given_level_mi") == 0.04);
  CHECK(r.metric("size_given_level_mi_null") == 0.035);
  CHECK(r.metric("size_given_level_p") == 0.17);
  CHECK(r.metric("size_given_level_and_class_mi") == 0.02);
  CHECK(r.metric("size_given_level_and_class_p") == 0.4);
  CHECK_FALSE(r.metric("class_mi_p").has_value());  // no null computed: no column value
}

TEST_CASE("store: a CIFAR-100-sized snapshot (100 classes x 16 experts, several chunks) round-trips") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  auto& l = rec.train_routing[0];
  l.importance_share.assign(16, 1.0 / 16);
  l.sample_share.assign(16, 2.0 / 16);
  auto& classes = l.group_or_add(kClassGroup).group_expert;
  classes.assign(100, std::vector<double>(16));
  for (std::size_t c = 0; c < 100; ++c) {
    for (std::size_t e = 0; e < 16; ++e) {
      classes[c][e] = static_cast<double>(c * 16 + e) / 1600.0;
    }
  }
  l.group_or_add(kSuperclassGroup).group_expert.assign(20, std::vector<double>(16, 0.0625));
  l.coactivation.assign(16 * 16, 0);
  for (std::int64_t a = 0; a < 16; ++a) {
    for (std::int64_t b = a + 1; b < 16; ++b) {
      l.coactivation[static_cast<std::size_t>(a * 16 + b)] = a * 100 + b;
    }
  }
  db.record_epoch(id, rec);
  auto back = stored_routing(db, id, "train");
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].group(kClassGroup) != nullptr);
  REQUIRE(back[0].group(kSuperclassGroup) != nullptr);
  CHECK(back[0].group(kClassGroup)->group_expert == l.group(kClassGroup)->group_expert);
  CHECK(back[0].group(kSuperclassGroup)->group_expert == l.group(kSuperclassGroup)->group_expert);
  CHECK(back[0].coactivation == l.coactivation);
  CHECK(back[0].sample_share == l.sample_share);
}
