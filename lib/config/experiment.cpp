#include "config/experiment.hpp"

#include "core/constraint_kinds.hpp"
#include "core/dataset_kinds.hpp"

namespace moexp::config {

bool is_soft_constraint(const std::string& kind) {
  const auto* c = find_constraint(kind);
  return c != nullptr && c->soft;
}

bool is_hard_constraint(const std::string& kind) {
  const auto* c = find_constraint(kind);
  return c != nullptr && c->hard;
}

double default_threshold(const std::string& kind) {
  const auto* c = find_constraint(kind);
  return c != nullptr ? c->default_threshold : 0.5;
}

double effective_threshold(const ConstraintConfig& c) {
  return c.threshold >= 0 ? c.threshold : default_threshold(c.kind);
}

bool is_detection(const ExperimentConfig& cfg) { return is_detection_dataset(cfg.data.dataset); }

int arch_stage_count(const std::string& arch) {
  if (arch == "resnet18") {
    return 4;
  }
  if (arch == "resnet20" || arch == "resnet8") {
    return 3;
  }
  return 0;
}

} // namespace moexp::config
