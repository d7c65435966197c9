// RetinaNet's anchors, anchor-to-object matching and losses, with torchvision's geometry and rules
// (torchvision/models/detection/{anchor_utils.py, _utils.py, retinanet.py}, torchvision/ops/focal_loss.py; the
// differences from the reference code are in docs/detection.md).
// Shapes: A anchors of an image (all levels, level-major, then (y * W + x) * anchors_per_cell + a), G objects,
// K classes, B images.
#pragma once

#include "config/choices.hpp"
#include "detect/box_ops.hpp"

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace moexp::detect {

// torchvision's scales for a level whose base size is `size`: (x, int(x * 2^(1/3)), int(x * 2^(2/3))).
std::vector<double> octave_scales(double size);

// Anchors centred on (0, 0) for every (ratio, scale), ratio-major: h = s * sqrt(r), w = s / sqrt(r),
// [-w/2, -h/2, w/2, h/2] rounded to whole pixels (torchvision's AnchorGenerator.generate_anchors). [R * S, 4].
torch::Tensor cell_anchors(const std::vector<double>& scales, const std::vector<double>& ratios);

// The cell anchors shifted to every cell of a height x width feature map whose cells are stride_y x stride_x pixels,
// with the cell's top-left corner as the shift (torchvision's convention): [height * width * cell, 4].
torch::Tensor grid_anchors(const torch::Tensor& cell_a4, std::int64_t height, std::int64_t width, std::int64_t stride_y,
                           std::int64_t stride_x);

// Anchors of one image for every pyramid level: level l has base size base_sizes[l] (torchvision: 32..512; the
// shapes set halves them) with octave_scales and `ratios` (0.5, 1, 2), on a feature map of feature_sizes[l] =
// {height, width}; its stride is the padded image size // the feature size (integer division, as torchvision).
// Concatenated over levels: [A, 4] (float, on `device`).
torch::Tensor image_anchors(const std::vector<double>& base_sizes, const std::vector<double>& ratios,
                            const std::vector<std::array<std::int64_t, 2>>& feature_sizes, std::int64_t image_height,
                            std::int64_t image_width, const torch::Device& device = torch::kCPU);

// Anchor labels from an IoU matrix iou_ga [G, A] (torchvision's Matcher): each anchor's best object when its IoU is
// >= fg_iou, kBackground below bg_iou, kIgnored in between; with low-quality matches, every anchor that ties an
// object's highest IoU gets its own best object back. No objects: every anchor is background. int64 [A].
constexpr std::int64_t kBackground = -1;
constexpr std::int64_t kIgnored = -2;
torch::Tensor match_anchors(const torch::Tensor& iou_ga, std::int64_t anchors, double fg_iou = 0.5, double bg_iou = 0.4,
                            bool low_quality_matches = true);

// Elementwise sigmoid focal loss (torchvision.ops.sigmoid_focal_loss, reduction "none"):
// alpha_t * BCE-with-logits * (1 - p_t)^gamma; alpha < 0 leaves out the alpha_t factor.
torch::Tensor sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double alpha = 0.25,
                                 double gamma = 2.0);

// The objects of one training image: boxes_g4 (x1, y1, x2, y2, pixels of the padded image) and labels_g (int64,
// contiguous class indices 0..K-1). Crowd regions are not among them (they are ignored in training).
struct ImageTargets {
  torch::Tensor boxes_g4;
  torch::Tensor labels_g;
};

using config::BoxLoss;  // detection.box_loss (config/choices.hpp)

struct RetinaLoss {
  torch::Tensor classification;          // scalar
  torch::Tensor regression;              // scalar
  std::int64_t foreground = 0;           // anchors matched to an object, over the batch
  std::vector<torch::Tensor> matched_a;  // per image: match_anchors' result [A] (object index, kBackground, kIgnored)
};

// The choices of RetinaNet's loss where torchvision and the reference's (yhenon) code differ.
struct RetinaLossOptions {
  BoxLoss box_loss = BoxLoss::l1;
  double smooth_l1_beta = 1.0;  // torchvision's default; the reference code's 1/9
  double fg_iou = 0.5, bg_iou = 0.4;
  bool low_quality_matches = true;  // torchvision; the reference code has none
};

// RetinaNet's training loss over a batch (torchvision's RetinaNetHead.compute_loss): per image, anchors matched by
// match_anchors (the options' thresholds and low-quality rule), the focal loss summed over every anchor that is not
// ignored and the box loss summed over foreground anchors (deltas against BoxCoder{1,1,1,1}-encoded targets; L1 or
// smooth L1), each divided by max(1, foreground anchors); then the mean over images. cls_logits_bak [B, A, K],
// box_deltas_ba4 [B, A, 4], anchors_a4 [A, 4] (the same for every image of a padded batch). The matches are returned
// for callers that need them again (routing statistics).
RetinaLoss retinanet_loss(const torch::Tensor& cls_logits_bak, const torch::Tensor& box_deltas_ba4,
                          const torch::Tensor& anchors_a4, const std::vector<ImageTargets>& targets,
                          const RetinaLossOptions& options = {});

}  // namespace moexp::detect
