#include "core/metric_catalog.hpp"
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

TEST_CASE("metrics: a metric's key is split_name, or the name for the epoch's own figures, and parses back") {
  CHECK(metric_key("test", "top5_acc") == "test_top5_acc");
  CHECK(metric_key("", "lr") == "lr");
  const auto m = parse_metric_key("test_top5_acc");
  CHECK(m.split == "test");
  CHECK(m.name == "top5_acc");
  CHECK(parse_metric_key("train_loss").split == "train");
  CHECK(parse_metric_key("aux_loss").split.empty());
  CHECK(parse_metric_key("aux_loss").name == "aux_loss");
  CHECK(parse_metric_key("test_").split.empty());  // no name after the prefix: not a split
  for (const char* key : {"test_acc", "train_acc", "lr", "images_per_s", "test_AP"}) {
    const auto p = parse_metric_key(key);
    CHECK(metric_key(p.split, p.name) == key);
  }
  EpochRecord r;
  r.set("test", "acc", 0.5);
  r.set("test", "acc", 0.75);  // replaces
  CHECK(r.metrics.size() == 1);
  CHECK(r.at("test_acc") == 0.75);
  CHECK_FALSE(r.find("train_acc"));
}

TEST_CASE("metric catalog: catalogued metrics keep their titles, others are shown by key") {
  CHECK(metric_spec("test_acc").title == "final acc (%)");
  CHECK(metric_spec("test_acc").scale == 100);
  CHECK(metric_spec("test_top5_acc").title == "final top-5 acc (%)");
  CHECK(metric_spec("test_AP").title == "test_AP");
  CHECK(metric_spec("test_AP").scale == 1);
  CHECK(metric_spec("val_foo_acc").scale == 100);
  CHECK(catalogued_metric("wall_seconds"));
  CHECK_FALSE(catalogued_metric("test_AP"));
  CHECK(default_report_metrics().front().name == "test_acc");
}

TEST_CASE("metrics: detection's level and size groups have fixed names, other kinds none") {
  CHECK(fixed_group_names(kLevelGroup, 5) == std::vector<std::string>{"P3", "P4", "P5", "P6", "P7"});
  CHECK(fixed_group_names(kSizeGroup, 3) == std::vector<std::string>{"small", "medium", "large"});
  CHECK(fixed_group_names(kClassGroup, 4).empty());
  CHECK(fixed_group_names("anything", 2).empty());
}
