// Entry points of the Torch plugin (libmoexp_torch.so). Torch-free header: the binary includes it to call them
// through dlsym. Exceptions (InputError, Error) propagate to the caller as usual.
#pragma once

#include "train/evaluate_run.hpp"
#include "train/run.hpp"

extern "C" {
int moexp_plugin_run_train(const moexp::train::TrainRequest* request);
int moexp_plugin_run_evaluate(const moexp::train::EvaluateRequest* request);
}

namespace moexp::train {

// The plugin's file name, looked up next to the running binary.
inline constexpr const char* kTorchPluginName = "libmoexp_torch.so";

}  // namespace moexp::train
