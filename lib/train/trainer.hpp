// The training loop: cross-entropy + summed auxiliary losses, test evaluation each epoch, LR schedule,
// per-epoch seeding (so a resumed run replays exactly), divergence and interruption as outcomes.
#pragma once

#include "config/experiment.hpp"
#include "core/metrics.hpp"
#include "core/progress.hpp"
#include "data/dataset.hpp"
#include "models/resnet.hpp"
#include "train/device.hpp"
#include "train/routing_stats.hpp"

#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

namespace moexp::train {

// Learning rate of 0-based epoch `epoch` under `t` (warm-up, then step / cosine / constant).
double learning_rate(const config::TrainConfig& t, std::int64_t epoch);

struct EvalOptions {
  std::int64_t batch_size = 500;
  double collapse_share = kCollapseShare;
  bool keep_samples = false;  // keep per-sample routing (for --dump-routing)
  bool bf16 = false;           // bf16 autocast
  bool channels_last = false;  // batches in channels-last memory format
};

// Per-sample routing of one MoE layer over a whole split (kept on request).
struct SampleRouting {
  torch::Tensor clean_logits_ne;  // float [N, E]
  torch::Tensor weights_ne;       // float [N, E]
  torch::Tensor chosen_nk;        // int64 [N, K]
};

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  double top5_accuracy = 0;  // the label among the 5 highest logits (all of them when there are fewer classes)
  std::int64_t samples = 0;
  std::vector<std::int64_t> class_samples;  // per class
  std::vector<std::int64_t> class_correct;  // per class
  std::vector<LayerRouting> routing;
  std::vector<SampleRouting> per_sample;    // one per MoE layer when keep_samples
};

// Per sample (bool [B]): whether label y_b is among the `k` highest of logits_bc (all C when C < k).
torch::Tensor top_k_hits(const torch::Tensor& logits_bc, const torch::Tensor& y_b, std::int64_t k);

// Classification's routing groups: each image is one routing token, labelled with its class and, when the data set
// groups its classes, its superclass.
class ClassGroups {
public:
  ClassGroups(const data::DataSplits& data, const torch::Device& device, double collapse_share);
  // The group kinds (class, then superclass) for a RoutingAccumulator.
  const RoutingLabels& labels() const { return m_labels; }
  // Group labels int64 [B, G] of the images with class ids y_b, in labels()' order.
  torch::Tensor labels_bg(const torch::Tensor& y_b) const;

private:
  RoutingLabels m_labels;
  torch::Tensor m_superclass_of_c;  // class -> superclass on the device; undefined without superclasses
};

// Evaluate `model` (eval mode, no gradients, routing as set on its MoE layers) on `ds`.
EvalResult evaluate(models::ResNet& model, const data::Dataset& ds, const data::DataSplits& data,
                    const torch::Device& device, const EvalOptions& options);

struct FitResult {
  std::string status;  // store status: finished | diverged | interrupted
  std::int64_t epochs_done = 0;
  std::string error;   // why it diverged
};

class Trainer {
public:
  // Build the model and optimizer of `cfg` for `data` on `device` (seeded with train.seed). `data` must outlive
  // the trainer.
  Trainer(const config::ExperimentConfig& cfg, const data::DataSplits& data, const torch::Device& device);

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

  models::ResNet& model() { return m_model; }

private:
  const config::ExperimentConfig& m_cfg;
  const data::DataSplits& m_data;
  torch::Device m_device;
  models::ResNet m_model{nullptr};
  std::unique_ptr<torch::optim::Optimizer> m_optimizer;
  std::int64_t m_epochs_done = 0;
  std::string m_run_uid;
  Execution m_exec;
};

} // namespace moexp::train
