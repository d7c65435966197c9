// Loading the Torch plugin on demand, so Torch-free commands start without LibTorch.
#pragma once

#include "train/plugin.hpp"

namespace moexp::cli {

// Run `moexp train` / `moexp evaluate` through libmoexp_torch.so (loaded once, from the binary's folder).
// Throws moexp::Error when the plugin cannot be loaded.
int plugin_run_train(const train::TrainRequest& request);
int plugin_run_evaluate(const train::EvaluateRequest& request);

}  // namespace moexp::cli
