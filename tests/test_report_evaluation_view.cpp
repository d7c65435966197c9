#include "core/text_table.hpp"
#include "report/evaluation_view.hpp"

#include <doctest/doctest.h>

using namespace moexp;

namespace {
report::EvaluationView sample_view() {
  LayerRouting lr;
  lr.layer = 0;
  lr.position = 1;
  lr.samples = 4;
  lr.importance_share = {0.75, 0.25};
  lr.sample_share = {1.0, 1.0};
  lr.groups.push_back({kClassGroup, {{0.9, 0.1}, {0.6, 0.4}, {0.2, 0.8}}, {2, 1, 1}, 0.5, 0.0});
  lr.groups.push_back({kSuperclassGroup, {{0.75, 0.25}}, {4}, 0.0, 0.0});
  lr.coactivation = {0, 4, 0, 0};
  summarize_routing(lr);
  report::EvaluationView view;
  view.run_id = 3;
  view.run_name = "r\"x";
  view.checkpoint_epoch = 2;
  view.split = "test";
  view.samples = 4;
  view.trained_k = 2;
  view.class_names = {"cat", "dog", "ship"};
  view.superclass_names = {"all"};
  view.settings.push_back({11, "trained", {{"acc", 0.75}, {"loss", 0.5}}, {2, 1, 1}, {2, 0, 1}, {lr}});
  view.settings.push_back({12, "k=1", {{"acc", 0.5}, {"loss", 0.7}}, {}, {}, {}});
  return view;
}
}  // namespace

TEST_CASE("text table: aligned columns, numbers right-aligned") {
  core::TextTable t({"name", "value"});
  t.add_row({"a", "1.5"});
  t.add_row({"longer", "12.25"});
  CHECK(t.render() == "name    value\n------  -----\na         1.5\nlonger  12.25\n");
}

TEST_CASE("evaluation view: top classes per expert, best first") {
  auto view = sample_view();
  auto top = report::top_classes(view.settings[0].routing[0], 1, 2);
  REQUIRE(top.size() == 2);
  CHECK(top[0].first == 2);
  CHECK(top[1].first == 1);
}

TEST_CASE("evaluation view: text shows settings, experts with top classes, matrices and specialisation") {
  auto text = report::render_evaluation_text(sample_view());
  CHECK(text.find("run 3 'r\"x', checkpoint after epoch 2, test split (4 samples)") == 0);
  CHECK(text.find("trained    75.00%  0.5000  #11") != std::string::npos);
  CHECK(text.find("e1           0.250    1.000  ship 0.80, dog 0.40, cat 0.10") != std::string::npos);
  CHECK(text.find("cat   0.900  0.100   100.00%") != std::string::npos);
  CHECK(text.find("class 0.500") != std::string::npos);
  CHECK(text.find("pair co-activation") != std::string::npos);
}

TEST_CASE("evaluation view: JSON carries the same numbers with escaped strings") {
  auto json = report::render_evaluation_json(sample_view());
  CHECK(json.find("{\"run_id\": 3, \"name\": \"r\\\"x\"") == 0);
  CHECK(json.find("\"class_expert\": [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]") != std::string::npos);
  CHECK(json.find("\"coactivation\": [0, 4, 0, 0]") != std::string::npos);
  CHECK(json.find("\"class_mi\": 0.5, \"class_mi_control\": 0, \"superclass_mi\": 0, \"superclass_mi_control\": 0, "
                  "\"sample_entropy\"") != std::string::npos);
  CHECK(json.find("\"setting\": \"k=1\"") != std::string::npos);
}

TEST_CASE("evaluation view: every group kind a layer has is printed, named by its kind") {
  auto view = sample_view();
  view.settings[0].routing[0].groups.push_back({"size", {{0.7, 0.3}, {0.1, 0.9}}, {5, 5}, 0.25, 0.01});
  const auto text = report::render_evaluation_text(view);
  CHECK(text.find("class 0.500 (shuffled-label control 0.000), superclass 0.000 (control 0.000), size 0.250 "
                  "(control 0.010)") != std::string::npos);
  CHECK(text.find("\nsize x expert (mean gate weight):\n") != std::string::npos);
  CHECK(text.find("1  0.100  0.900") != std::string::npos);  // groups without names are numbered
  const auto json = report::render_evaluation_json(view);
  CHECK(json.find("\"size_mi\": 0.25, \"size_mi_control\": 0.01") != std::string::npos);
  CHECK(json.find("\"size_expert\": [[0.7, 0.3], [0.1, 0.9]]") != std::string::npos);
  // Every matrix names its rows: levels and the three size buckets by name, the classes by the run's class names,
  // anything else by number.
  CHECK(json.find("\"size_names\": [\"0\", \"1\"]") != std::string::npos);
  view.settings[0].routing[0].groups.back().group_expert.push_back({0.5, 0.5});
  view.settings[0].routing[0].groups.push_back({"level", {{1.0, 0.0}, {0.0, 1.0}}, {5, 5}, 0.9, 0.01});
  const auto named = report::render_evaluation_json(view);
  CHECK(named.find("\"size_names\": [\"small\", \"medium\", \"large\"]") != std::string::npos);
  CHECK(named.find("\"level_names\": [\"P3\", \"P4\"]") != std::string::npos);
  CHECK(named.find("\"class_names\": [\"cat\", \"dog\", \"ship\"]") != std::string::npos);
}
