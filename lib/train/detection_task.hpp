// Detection, the second Task: RetinaNet (optionally with MoE classification and/or box subnets) on a COCO-format
// dataset, trained with the focal and box losses, evaluated by COCO mAP on the validation split. Routing tokens are
// (image, pyramid level) pairs labelled with their level; each ground-truth object also adds, for every level on which
// it has positive anchors, that (image, level) pair's routing labelled with the object's size bucket and class
// (docs/detection.md, "Which experts see which objects").
#pragma once

#include "coco/dataset.hpp"
#include "config/experiment.hpp"
#include "core/task_kinds.hpp"
#include "detect/coco_loader.hpp"
#include "detect/retinanet.hpp"
#include "report/detection_gallery.hpp"
#include "train/device.hpp"
#include "train/init_from.hpp"
#include "train/routing_stats.hpp"
#include "train/task.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moexp::train {

// The positions detection's MoE heads are recorded under (LayerRouting::position): core/task_kinds.hpp's
// kClsHeadPosition and kBoxHeadPosition.

// COCO's object size buckets by annotation area: small < 32², medium < 96², large.
inline constexpr std::int64_t kSizeBuckets = 3;

// A detection experiment's data: its annotation files (the first data.limit_train / limit_test images) and folders.
struct DetectionData {
  coco::Dataset train, val;
  std::filesystem::path train_images, val_images;
  std::vector<std::string> class_names;  // by contiguous class index (categories by ascending id)
};

// Load and check the annotation files of `cfg`; InputError naming the file for bad annotations.
DetectionData load_detection_data(const config::ExperimentConfig& cfg);

// The RetinaNet options of `cfg` for `num_classes` classes.
detect::RetinaNetOptions retinanet_options(const config::ExperimentConfig& cfg, std::int64_t num_classes);

// Start RetinaNet `model` of `cfg` from checkpoint `path` (model.init_from): tensors matched by name and shape, with
// model.experts_from_head each MoE head's experts from the checkpoint's dense head; the parts model.freeze names must
// come whole from the checkpoint (InputError naming the missing tensor).
InitReport init_retinanet(torch::nn::Module& model, const config::ExperimentConfig& cfg,
                          const std::filesystem::path& path);

// Size bucket (0 small, 1 medium, 2 large) of objects with COCO areas areas_n, as COCO evaluation buckets them.
torch::Tensor size_buckets(const torch::Tensor& areas_n);

// How many positive anchors each of `objects` objects has on each level: matched_a (match_anchors' result over the
// image's anchors, level-major) split by anchors_per_level. int64 [objects, L].
torch::Tensor positive_anchor_counts(const torch::Tensor& matched_a, std::int64_t objects,
                                     const std::vector<std::int64_t>& anchors_per_level);

// Which levels each of `objects` objects has positive anchors on: matched_a (match_anchors' result over the image's
// anchors, level-major) split by anchors_per_level. bool [objects, L].
torch::Tensor positive_levels(const torch::Tensor& matched_a, std::int64_t objects,
                              const std::vector<std::int64_t>& anchors_per_level);

// The routing of the MoE heads over an epoch or an evaluation: per head, shares and the level x expert matrix over
// (image, level) tokens, and size x expert and class x expert over (object, level) tokens.
class DetectionRouting {
 public:
  DetectionRouting(std::vector<std::int64_t> positions, std::int64_t num_experts, std::int64_t levels,
                   std::int64_t classes, double collapse_share);
  // Add one batch: each MoE head's routing (in position order) and, per image, its objects' labels and areas and the
  // levels they have positive anchors on (positive_levels).
  void add(const std::vector<const detect::HeadRouting*>& heads, const std::vector<torch::Tensor>& labels_per_image,
           const std::vector<torch::Tensor>& areas_per_image, const std::vector<torch::Tensor>& positive_per_image);
  std::vector<LayerRouting> summarize() const;

 private:
  RoutingAccumulator m_levels;
  RoutingAccumulator m_objects;
  std::int64_t m_object_tokens = 0;
  std::int64_t m_images_seen = 0;  // numbers the images of the epoch for the nulls' strata
};

// An evaluation of the validation split: the figures (as evaluate_test) and, on request, every detection.
struct DetectionEvaluation {
  SplitFigures figures;
  std::vector<coco::Detection> detections;  // in original image pixels, COCO category ids
  std::int64_t images = 0;
  report::DetectionRoutingRecord routing_record{};  // token by token, when kept (MoE heads only)
};

class DetectionTask : public Task {
 public:
  // The RetinaNet of `cfg` for `data` on `device` (initialised from the global generator: seed it first). `cfg` and
  // `data` must outlive the task.
  DetectionTask(const config::ExperimentConfig& cfg, const DetectionData& data, const torch::Device& device,
                const Execution& exec);

  torch::nn::Module& model() override { return *m_model; }
  std::int64_t train_examples() const override { return static_cast<std::int64_t>(m_data.train.images.size()); }
  std::string loss_name() const override { return "focal + box loss"; }
  void begin_epoch(std::int64_t epoch, const torch::Tensor& order_n) override;
  BatchLoss train_batch(const torch::Tensor& idx_b, torch::Generator& augment) override;
  std::string progress_text(std::int64_t seen) override;
  SplitFigures end_epoch() override;
  SplitFigures evaluate_test() override;

  // Evaluate the validation split (eval mode, no gradients, the heads' evaluation routing as set); keeps the
  // detections when `keep_detections`, and the MoE heads' routing token by token when `keep_routing`.
  DetectionEvaluation evaluate_validation(bool keep_detections, bool keep_routing = false);
  detect::RetinaNet& retinanet() { return m_model; }

  // The MoE heads' positions (kClsHeadPosition, kBoxHeadPosition), in forward order.
  std::vector<std::int64_t> moe_positions() const;

 private:
  struct Forward;
  Forward run(const detect::DetectionBatch& batch);
  std::optional<DetectionRouting> new_routing() const;
  const torch::Tensor& anchors(std::int64_t height, std::int64_t width,
                               const std::vector<std::array<std::int64_t, 2>>& feature_sizes);

  const config::ExperimentConfig& m_cfg;
  const DetectionData& m_data;
  torch::Device m_device;
  Execution m_exec;
  detect::RetinaNet m_model{nullptr};
  std::unique_ptr<detect::DetectionLoader> m_train_loader, m_val_loader;
  std::map<std::pair<std::int64_t, std::int64_t>, torch::Tensor> m_anchors;  // by padded (height, width)
  std::optional<DetectionRouting> m_routing;
  torch::Tensor m_cls_sum, m_box_sum;  // the epoch's summed per-batch losses x images, double on the device
};

}  // namespace moexp::train
