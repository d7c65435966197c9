// Detection's entry in the task registry (task_setup.hpp).
#pragma once

#include "train/task_setup.hpp"

namespace moexp::train {

// The setup of a detection experiment with its annotation files loaded and checked (load_detection_data).
std::unique_ptr<TaskSetup> load_detection(const config::ExperimentConfig& cfg);

// Throws InputError for an evaluate option detection does not have (--split train, --dump-routing). Reads no data.
void check_detection_evaluation(const EvaluatorOptions& options);

}  // namespace moexp::train
