#include "config/experiment.hpp"

namespace moexp::config {

bool is_soft_constraint(const std::string& kind) {
  return kind == "importance" || kind == "kl" || kind == "load";
}

bool is_hard_constraint(const std::string& kind) { return kind == "relative" || kind == "absolute"; }

double default_threshold(const std::string& kind) { return kind == "absolute" ? 0.3 : 0.5; }

double effective_threshold(const ConstraintConfig& c) {
  return c.threshold >= 0 ? c.threshold : default_threshold(c.kind);
}

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
