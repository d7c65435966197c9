#include "train/task_setup.hpp"

#include "train/classification_setup.hpp"
#include "train/detection_setup.hpp"

#include <stdexcept>

namespace moexp::train {

std::unique_ptr<TaskSetup> load_task(const config::ExperimentConfig& cfg) {
  switch (config::task_of(cfg)) {  // the registry: one line per task of core/task_kinds.hpp
    case TaskKind::classification:
      return load_classification(cfg);
    case TaskKind::detection:
      return load_detection(cfg);
  }
  throw std::logic_error("load_task: a task without an entry");
}

void check_evaluator_options(const config::ExperimentConfig& cfg, const EvaluatorOptions& options) {
  switch (config::task_of(cfg)) {
    case TaskKind::classification:
      return check_classification_evaluation(options);
    case TaskKind::detection:
      return check_detection_evaluation(options);
  }
}

}  // namespace moexp::train
