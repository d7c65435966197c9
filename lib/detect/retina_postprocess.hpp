// RetinaNet's post-processing (torchvision's RetinaNet.postprocess_detections): from one image's head outputs to its
// detections. Shapes: A anchors of the image (level-major), K classes, D detections.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace moexp::detect {

struct PostprocessOptions {
  double score_threshold = 0.05;             // sigmoid score a (anchor, class) pair must exceed
  std::int64_t candidates_per_level = 1000;  // best pairs kept per level before NMS
  double nms_iou = 0.5;                      // class-aware NMS threshold
  std::int64_t max_detections = 300;         // kept per image after NMS (torchvision 300; COCO scores 100 per class)
};

struct Detections {
  torch::Tensor boxes_d4;   // (x1, y1, x2, y2) in the padded image's pixels, clipped to image_height x image_width
  torch::Tensor scores_d;   // by descending score
  torch::Tensor labels_d;   // contiguous class index 0..K-1 (int64)
  torch::Tensor anchors_d;  // index of the anchor each detection came from (int64), to attribute it to a level/expert
};

// Per level: sigmoid over every (anchor, class) pair, pairs above the score threshold, the best
// candidates_per_level of them, their boxes decoded from their anchors (BoxCoder, weights 1) and clipped; then over
// all levels class-aware NMS and the best max_detections. cls_logits_ak [A, K], box_deltas_a4 [A, 4], anchors_a4
// [A, 4]; anchors_per_level gives each level's share of A.
Detections postprocess_detections(const torch::Tensor& cls_logits_ak, const torch::Tensor& box_deltas_a4,
                                  const torch::Tensor& anchors_a4, const std::vector<std::int64_t>& anchors_per_level,
                                  std::int64_t image_height, std::int64_t image_width,
                                  const PostprocessOptions& options = {});

}  // namespace moexp::detect
