#include "core/metric_catalog.hpp"

#include <algorithm>

namespace moexp {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Metrics with a title of their own, beyond the report defaults.
const std::vector<MetricSpec>& other_known_metrics() {
  static const std::vector<MetricSpec> metrics = {
      {"test_top5_acc", "final top-5 acc (%)", 100, 2},
      {"test_loss", "test loss", 1, 4},
      {"test_ap75", "AP75 (%)", 100, 2},
      {"test_ar100", "AR@100 (%)", 100, 2},
      {"level_mi_control", "level MI control", 1, 3},
      {"level_mi_null", "level MI null", 1, 3},
      {"level_mi_p", "level MI p", 1, 3, true},
      {"size_mi_control", "size MI control", 1, 3},
      {"size_given_level_mi_null", "size|level null", 1, 3},
      {"class_mi", "class MI", 1, 3},
      {"class_mi_control", "class MI control", 1, 3},
      {"class_mi_null", "class MI null", 1, 3},
      {"class_mi_p", "class MI p", 1, 3, true},
      {"class_given_level_mi", "class|level MI", 1, 3},
      {"class_given_level_mi_null", "class|level null", 1, 3},
      {"class_given_level_p", "class|level p", 1, 3, true},
      {"size_given_level_and_class_mi_null", "size|level,class null", 1, 3},
      {"class_given_level_and_size_mi", "class|level,size MI", 1, 3},
      {"class_given_level_and_size_mi_null", "class|level,size null", 1, 3},
      {"class_given_level_and_size_p", "class|level,size p", 1, 3, true},
      {"superclass_mi_control", "MI control", 1, 3},
      {"train_acc", "train acc (%)", 100, 2},
      {kDroppedShareMetric, "dropped pairs (%)", 100, 2},
      {"train_top5_acc", "train top-5 acc (%)", 100, 2},
      {"train_loss", "train loss", 1, 4},
      {"lr", "lr", 1, 6},
      {"seconds", "epoch time (s)", 1, 1},
      {"images_per_s", "images/s", 1, 0},
  };
  return metrics;
}

}  // namespace

const std::vector<MetricSpec>& default_report_metrics() {
  static const std::vector<MetricSpec> metrics = {
      {"test_acc", "final acc (%)", 100, 2},    {"best_test_acc", "best acc (%)", 100, 2},
      {"importance_cv", "importance CV", 1, 3}, {"sample_cv", "sample CV", 1, 3},
      {"living_experts", "living", 1, 2},       {"superclass_mi", "superclass MI", 1, 3},
      {"superclass_mi_null", "MI null", 1, 3},  {"superclass_mi_p", "MI p", 1, 3, true},
      {"aux_loss", "aux loss", 1, 4},           {kWallSecondsMetric, "time (s)", 1, 1},
  };
  return metrics;
}

const std::vector<MetricSpec>& detection_report_metrics() {
  static const std::vector<MetricSpec> metrics = {
      {"test_ap", "AP (%)", 100, 2},
      {"test_ap50", "AP50 (%)", 100, 2},
      {"test_ap_s", "AP_S (%)", 100, 2},
      {"test_ap_m", "AP_M (%)", 100, 2},
      {"test_ap_l", "AP_L (%)", 100, 2},
      {"importance_cv", "importance CV", 1, 3},
      {"living_experts", "living", 1, 2},
      {"size_mi", "size MI", 1, 3},
      {"size_mi_null", "size MI null", 1, 3},
      {"size_mi_p", "size MI p", 1, 3, true},
      {"size_given_level_mi", "size|level MI", 1, 3},
      {"size_given_level_p", "size|level p", 1, 3, true},
      {"size_given_level_and_class_mi", "size|level,class MI", 1, 3},
      {"size_given_level_and_class_p", "size|level,class p", 1, 3, true},
      {"level_mi", "level MI", 1, 3},
      {"aux_loss", "aux loss", 1, 4},
      {kWallSecondsMetric, "time (s)", 1, 1},
  };
  return metrics;
}

const std::vector<MetricSpec>& evaluation_figures() {
  static const std::vector<MetricSpec> figures = {
      {"acc", "accuracy", 100, 2},
      {"top5_acc", "top-5 acc", 100, 2},
      {"loss", "loss", 1, 4},
  };
  return figures;
}

MetricSpec evaluation_figure_spec(const std::string& name) {
  const auto& known = evaluation_figures();
  auto it = std::find_if(known.begin(), known.end(), [&](const MetricSpec& m) { return m.name == name; });
  if (it != known.end()) {
    return *it;
  }
  const bool accuracy = name == "acc" || ends_with(name, "_acc");
  return {name, name, accuracy ? 100.0 : 1.0, 4};
}

namespace {

// The catalog entry of `key`, or null.
const MetricSpec* find_catalogued(const std::string& key) {
  for (const auto* list : {&default_report_metrics(), &detection_report_metrics(), &other_known_metrics()}) {
    auto it = std::find_if(list->begin(), list->end(), [&](const MetricSpec& m) { return m.name == key; });
    if (it != list->end()) {
      return &*it;
    }
  }
  return nullptr;
}

}  // namespace

bool catalogued_metric(const std::string& key) {
  return find_catalogued(key) != nullptr;
}

MetricSpec metric_spec(const std::string& key) {
  if (const auto* known = find_catalogued(key)) {
    return *known;
  }
  if (ends_with(key, "acc")) {
    return {key, key + " (%)", 100, 2};
  }
  return {key, key, 1, 4};
}

}  // namespace moexp
