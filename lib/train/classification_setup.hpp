// Classification's entry in the task registry (task_setup.hpp).
#pragma once

#include "train/task_setup.hpp"

namespace moexp::train {

// The setup of a classification experiment with its dataset loaded into memory (data::load_data).
std::unique_ptr<TaskSetup> load_classification(const config::ExperimentConfig& cfg);

// Throws InputError for an evaluate option classification does not have (--dump-detections). Reads no data.
void check_classification_evaluation(const EvaluatorOptions& options);

}  // namespace moexp::train
