// The Task seam of training: what differs between tasks (classification today; detection with MoE heads next).
// A task owns its model and its data: it turns a batch of training examples into a loss, accumulates the figures
// of an epoch's training batches (accuracy, routing), and evaluates the test split into named metrics and routing
// statistics whose tokens it labels with their groups. The Trainer owns everything task-agnostic: the epoch loop,
// the optimizer and LR schedule, seeding, divergence, interruption, progress, checkpoints and the sink.
#pragma once

#include "core/metrics.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moexp::train {

// The losses of one training batch: scalars that still carry gradients.
struct BatchLoss {
  torch::Tensor task_loss;    // the task's own loss, a mean over the batch's examples
  torch::Tensor aux_loss;     // the summed auxiliary losses of the MoE layers (0 without soft constraints)
  std::int64_t examples = 0;  // examples in the batch (weights task_loss in the epoch's mean)
};

// What a task measured on one split: figures by name ("acc", "top5_acc"; the trainer adds the split) and the routing.
struct SplitFigures {
  std::vector<std::pair<std::string, double>> metrics;
  std::vector<LayerRouting> routing;
};

class Task {
 public:
  virtual ~Task() = default;

  // The network: the trainer optimises its parameters and checkpoints its state.
  virtual torch::nn::Module& model() = 0;

  // Examples in the training split; an epoch visits a permutation of them in batches.
  virtual std::int64_t train_examples() const = 0;

  // What the task's loss is called in messages ("cross-entropy").
  virtual std::string loss_name() const = 0;

  // Start training epoch `epoch` (1-based), whose batches visit the examples in `order_n` (int64 [N], the trainer's
  // permutation; train_batch gets consecutive slices of it): forget the previous epoch's figures.
  virtual void begin_epoch(std::int64_t epoch, const torch::Tensor& order_n) = 0;

  // Forward the training examples `idx_b` (model in train mode; `augment` is the epoch's augmentation generator) and
  // return the batch's losses. Accumulates the task's own figures and the routing of the batch.
  virtual BatchLoss train_batch(const torch::Tensor& idx_b, torch::Generator& augment) = 0;

  // The running figure shown after the loss on the progress line after `seen` examples ("acc 41.20%"); may sync
  // with the device.
  virtual std::string progress_text(std::int64_t seen) = 0;

  // The epoch's training figures beyond the loss (which the trainer averages) and the routing used in training.
  virtual SplitFigures end_epoch() = 0;

  // Evaluate the test split (eval mode, no gradients, clean routing): "loss" first, then the task's figures.
  virtual SplitFigures evaluate_test() = 0;
};

}  // namespace moexp::train
