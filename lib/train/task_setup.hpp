// The registry of tasks on the Torch side: for an experiment, its task's data (loaded, and so checked, before anything
// is written), the facts a run records about it, the Task the trainer drives, how a new run's model starts, and the
// task's part of `moexp evaluate`. run.cpp and evaluate_run.cpp hold no task-specific branch: they ask this. A task
// registers one line in task_setup.cpp (load_task); its kind, name and report defaults are in core/task_kinds.hpp.
#pragma once

#include "config/experiment.hpp"
#include "core/metrics.hpp"
#include "moe/layer.hpp"
#include "store/run_store.hpp"
#include "train/device.hpp"
#include "train/task.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moexp::train {

// What one evaluation setting measured: stored as an evaluations row and shown in the view.
struct SettingResult {
  std::int64_t samples = 0;
  std::map<std::string, double> metrics;
  std::vector<std::int64_t> class_samples, class_correct;  // per class (empty where the task has no accuracy)
  std::vector<LayerRouting> routing;
};

// The options of `moexp evaluate` that a task reads.
struct EvaluatorOptions {
  std::int64_t run_id = 0;
  std::filesystem::path checkpoint;
  std::string split = "test";                  // test | train
  std::string dump_routing;                    // per-sample routing CSV of the first setting ("" for none)
  std::string dump_detections;                 // COCO results JSON of the first setting's detections ("" for none)
  std::string gallery;                         // folder for the first setting's per-expert image gallery ("" for none)
  std::int64_t gallery_size = 0;               // 0: the task's default
  std::vector<std::int64_t> gallery_images{};  // detection: the images to show (empty: a seeded random draw)
  bool gallery_inline = false;
  torch::Device device = torch::kCPU;
};

// A trained model of one task, loaded from its checkpoint, evaluated under one routing setting after another.
class TaskEvaluator {
 public:
  virtual ~TaskEvaluator() = default;

  // Epochs the checkpoint had completed.
  virtual std::int64_t checkpoint_epoch() const = 0;

  // Examples of the evaluated split.
  virtual std::int64_t samples() const = 0;

  // The names of the split's classes and superclasses (the view's labels; superclasses may be empty).
  virtual std::vector<std::string> class_names() const = 0;
  virtual std::vector<std::string> superclass_names() const = 0;

  // Evaluate the split with every MoE layer routing as `routing`; `first` is the trained setting, whose dumps (the
  // options') are written.
  virtual SettingResult evaluate(const moe::EvalRouting& routing, bool first) = 0;

  // What the dumps wrote, one line each, for the text output ("" when nothing).
  virtual std::string written_note() const = 0;
};

// One experiment's task with its data loaded.
class TaskSetup {
 public:
  virtual ~TaskSetup() = default;

  // The dataset's classes, in label order (a run's run_classes rows).
  virtual std::vector<store::ClassInfo> classes() const = 0;

  // Examples of the training and test (validation) splits.
  virtual std::int64_t train_examples() const = 0;
  virtual std::int64_t test_examples() const = 0;

  // The model in a run's first line ("resnet8", "retinanet resnet18 x0.25").
  virtual std::string model_text() const = 0;

  // The task (its model on `device`, initialised from the global generator: seed it first) for `exec`. The setup
  // must outlive it.
  virtual std::unique_ptr<Task> make_task(const torch::Device& device, const Execution& exec) const = 0;

  // Start a new run's model: pretrained parts (model.backbone_weights) and the checkpoint `init` (model.init_from; none
  // when empty). Returns one line per step taken, for the run's first lines. Not called when a run resumes.
  virtual std::vector<std::string> initialise(Task& task, const std::filesystem::path& init) const = 0;

  // The evaluator of the checkpoint in `options` for the experiment's model. Throws InputError for an option the task
  // does not have (e.g. --dump-detections of a classification run) before anything is loaded.
  virtual std::unique_ptr<TaskEvaluator> evaluator(const EvaluatorOptions& options) const = 0;
};

// The setup of `cfg`'s task with its data loaded: bad data files throw (DataError, ConfigError, InputError) here.
// `cfg` must outlive it.
std::unique_ptr<TaskSetup> load_task(const config::ExperimentConfig& cfg);

// Throws InputError for an option of `options` that `cfg`'s task does not have, before any data is loaded (evaluator()
// checks the same).
void check_evaluator_options(const config::ExperimentConfig& cfg, const EvaluatorOptions& options);

}  // namespace moexp::train
