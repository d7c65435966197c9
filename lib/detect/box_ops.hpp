// Box operations for detection (Debian has no torchvision C++ ops, so these are moexp's): areas, IoU matrices,
// clipping, RetinaNet's box coder and NMS, with torchvision's conventions. Boxes are float tensors boxes_n4 of
// (x1, y1, x2, y2) in pixels; COCO files use (x, y, w, h) (lib/coco).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstdint>

namespace moexp::detect {

// (x2 - x1) * (y2 - y1) per box: [N].
torch::Tensor box_area(const torch::Tensor& boxes_n4);

// IoU of every box of a_n4 with every box of b_m4: [N, M] (0 where boxes do not overlap; union as torchvision).
torch::Tensor box_iou(const torch::Tensor& a_n4, const torch::Tensor& b_m4);

// Boxes clipped to an image of `height` x `width`.
torch::Tensor clip_boxes(const torch::Tensor& boxes_n4, std::int64_t height, std::int64_t width);

// RetinaNet's box coder (torchvision det_utils.BoxCoder): deltas (dx, dy, dw, dh) of a target box relative to its
// anchor, scaled by `weights`; decoding clamps dw and dh at `clamp` (log(1000 / 16)) before the exponential.
struct BoxCoder {
  std::array<double, 4> weights{1.0, 1.0, 1.0, 1.0};
  double clamp = std::log(1000.0 / 16);

  // deltas_n4 of targets_n4 against anchors_n4 (same N).
  torch::Tensor encode(const torch::Tensor& targets_n4, const torch::Tensor& anchors_n4) const;
  // boxes_n4 from deltas_n4 applied to anchors_n4.
  torch::Tensor decode(const torch::Tensor& deltas_n4, const torch::Tensor& anchors_n4) const;
};

// Greedy NMS (torchvision's CPU kernel): in descending score order (ties: input order), keep a box and suppress every
// later one whose IoU with it is > `iou_threshold`. Returns the kept indices (int64 [K], by descending score). Runs
// over the raw buffers of a contiguous float copy on the CPU (CUDA inputs are copied: a few thousand candidates).
torch::Tensor nms(const torch::Tensor& boxes_n4, const torch::Tensor& scores_n, double iou_threshold);

// NMS within each class of labels_n (int64): what torchvision's coordinate-offset trick gives (each class's boxes moved
// apart, one nms), computed class by class; kept indices by descending score, ties by index.
torch::Tensor batched_nms(const torch::Tensor& boxes_n4, const torch::Tensor& scores_n, const torch::Tensor& labels_n,
                          double iou_threshold);

}  // namespace moexp::detect
