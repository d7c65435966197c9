// The training loop, task-agnostic: the task's loss + summed auxiliary losses, test evaluation each epoch, LR
// schedule, per-epoch seeding (so a resumed run replays exactly), divergence and interruption as outcomes,
// checkpoints. What differs between tasks is behind train::Task (task.hpp).
#pragma once

#include "config/experiment.hpp"
#include "core/metrics.hpp"
#include "core/progress.hpp"
#include "core/run_status.hpp"
#include "data/dataset.hpp"
#include "train/device.hpp"
#include "train/task.hpp"

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace moexp::train {

// Learning rate of 0-based epoch `epoch` under `t` (warm-up, then step / cosine / constant).
double learning_rate(const config::TrainConfig& t, std::int64_t epoch);

// Scales the gradients of `optimizer`'s parameters (those that have one) by min(1, max_norm / (norm + 1e-6)), where
// norm is their global L2 norm: torch.nn.utils.clip_grad_norm_, computed on the device without a host read.
void clip_gradient_norm(torch::optim::Optimizer& optimizer, double max_norm);

struct FitResult {
  RunStatus status = RunStatus::finished;  // finished | diverged | interrupted
  std::int64_t epochs_done = 0;
  std::string error;  // why it diverged
};

// Builds the task of an experiment (its model on the device) for the resolved execution settings.
using TaskFactory = std::function<std::unique_ptr<Task>(const Execution& exec)>;

class Trainer {
 public:
  // Seed model initialisation with train.seed, build the task with `make_task`, and the optimizer of `cfg`.
  Trainer(const config::ExperimentConfig& cfg, const TaskFactory& make_task, const torch::Device& device);

  // The classification task of `cfg` on `data` (which must outlive the trainer).
  Trainer(const config::ExperimentConfig& cfg, const data::DataSplits& data, const torch::Device& device);

  // The task being trained (its model is what a new run's initialisation writes into).
  Task& task() { return *m_task; }

  // The identity written into every checkpoint (the run row's uid; "" for none).
  void set_run_uid(std::string uid) { m_run_uid = std::move(uid); }

  // Restore model, optimizer and RNG from `path`; returns the epochs it had completed. Throws InputError naming the
  // file when the checkpoint belongs to another run: a different config, or (when set_run_uid gave one) another
  // run's uid, as a checkpoint left by another database or copied from another run is.
  std::int64_t restore(const std::filesystem::path& path);

  // Train from the restored epoch to train.epochs, reporting each epoch to `sink` and then checkpointing to
  // `checkpoint` (none when empty). Stops between batches once `stop` is set. `progress` may be null.
  FitResult fit(MetricsSink& sink, const std::atomic<bool>& stop, const std::filesystem::path& checkpoint,
                core::ProgressBar* progress);

 private:
  const config::ExperimentConfig& m_cfg;
  torch::Device m_device;
  std::unique_ptr<Task> m_task;
  std::unique_ptr<torch::optim::Optimizer> m_optimizer;
  std::int64_t m_epochs_done = 0;
  std::string m_run_uid;
  Execution m_exec;
};

}  // namespace moexp::train
