// The Torch side as a plugin: libmoexp_torch.so exports these entry points, and the moexp binary loads it (dlopen)
// only for the commands that need Torch (train, evaluate). sweep, report, runs and status never load Torch.
#include "train/plugin.hpp"
#include "train/evaluate_run.hpp"
#include "train/run.hpp"

extern "C" {

__attribute__((visibility("default"))) int moexp_plugin_run_train(const moexp::train::TrainRequest* request) {
  return moexp::train::run_train(*request);
}

__attribute__((visibility("default"))) int moexp_plugin_run_evaluate(const moexp::train::EvaluateRequest* request) {
  return moexp::train::run_evaluate(*request);
}

}  // extern "C"
