#include "config/experiment.hpp"

#include "core/constraint_kinds.hpp"
#include "core/dataset_kinds.hpp"

namespace moexp::config {

bool is_soft_constraint(Constraint kind) {
  return constraint_info(kind).soft;
}

bool is_hard_constraint(Constraint kind) {
  return constraint_info(kind).hard;
}

double default_threshold(Constraint kind) {
  return constraint_info(kind).default_threshold;
}

double effective_threshold(const ConstraintConfig& c) {
  return c.threshold >= 0 ? c.threshold : default_threshold(c.kind);
}

TaskKind task_of(const ExperimentConfig& cfg) {
  return dataset_task(cfg.data.dataset);
}

bool is_detection(const ExperimentConfig& cfg) {
  return task_of(cfg) == TaskKind::detection;
}

int arch_stage_count(Arch arch) {
  switch (arch) {
    case Arch::resnet18:
      return 4;
    case Arch::resnet20:
    case Arch::resnet8:
      return 3;
    case Arch::retinanet:
      return 0;
  }
  return 0;
}

}  // namespace moexp::config
