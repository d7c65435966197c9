// Classification, the first Task: a CIFAR-style ResNet (optionally with MoE layers) trained with cross-entropy,
// measured by accuracy and top-5 accuracy, with routing tokens = images labelled by class and superclass.
// evaluate() is also what `moexp evaluate` runs per routing setting.
#pragma once

#include "config/experiment.hpp"
#include "data/batches.hpp"
#include "data/dataset.hpp"
#include "data/device_split.hpp"
#include "models/resnet.hpp"
#include "train/device.hpp"
#include "train/routing_stats.hpp"
#include "train/task.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moexp::train {

struct EvalOptions {
  std::int64_t batch_size = 500;
  double collapse_share = kCollapseShare;
  bool keep_samples = false;   // keep per-sample routing (for --dump-routing)
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
  std::vector<SampleRouting> per_sample;  // one per MoE layer when keep_samples

  // The named figures training and `moexp evaluate` record: "loss" first, then "acc", "top5_acc" (a new
  // classification metric is one more entry here).
  std::vector<std::pair<std::string, double>> figures() const;
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

// Whether data.on_device `setting` puts a split of `bytes` on `device`: on, off, or auto (CUDA and at most
// kOnDeviceLimitBytes).
inline constexpr std::int64_t kOnDeviceLimitBytes = std::int64_t{4} << 30;
bool resolve_on_device(config::OnDevice setting, const torch::Device& device, std::int64_t bytes);

// Evaluate `model` (eval mode, no gradients, routing as set on its MoE layers) on `ds`.
EvalResult evaluate(models::ResNet& model, const data::Dataset& ds, const data::DataSplits& data,
                    const torch::Device& device, const EvalOptions& options);

class ClassificationTask : public Task {
 public:
  // The model of `cfg` for `data` on `device` (initialised from the global generator: seed it first). `cfg` and
  // `data` must outlive the task.
  ClassificationTask(const config::ExperimentConfig& cfg, const data::DataSplits& data, const torch::Device& device,
                     const Execution& exec);

  torch::nn::Module& model() override { return *m_model; }
  std::int64_t train_examples() const override { return m_data.train.size(); }
  std::string loss_name() const override { return "cross-entropy"; }
  void begin_epoch(std::int64_t epoch, const torch::Tensor& order_n) override;
  BatchLoss train_batch(const torch::Tensor& idx_b, torch::Generator& augment) override;
  std::string progress_text(std::int64_t seen) override;
  SplitFigures end_epoch() override;
  SplitFigures evaluate_test() override;

  // Whether the training images live on the device (data.on_device as resolved for this device).
  bool data_on_device() const { return m_device_split.has_value(); }

 private:
  const config::ExperimentConfig& m_cfg;
  const data::DataSplits& m_data;
  torch::Device m_device;
  Execution m_exec;
  models::ResNet m_model{nullptr};
  data::Augmentation m_augmentation;
  ClassGroups m_groups;
  std::optional<data::DeviceSplit> m_device_split;  // data.on_device: the training split, resident
  torch::Tensor m_order_n;                          // the epoch's order (host), planned on the first batch
  std::int64_t m_batch = 0;                         // the epoch's next batch
  std::optional<RoutingAccumulator> m_routing;      // the current epoch's training routing
  torch::Tensor m_correct, m_correct_top5;          // int64 scalars on the device
  torch::Tensor m_dropped;  // moe.capacity_factor: the epoch's dropped (sample, expert) pairs (int64, device)
};

}  // namespace moexp::train
