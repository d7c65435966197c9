#include "detect/retina_targets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace moexp::detect {

std::vector<double> octave_scales(double size) {
  // int() of Python truncates toward zero, as static_cast does for these positive values.
  return {size, static_cast<double>(static_cast<std::int64_t>(size * std::pow(2.0, 1.0 / 3))),
          static_cast<double>(static_cast<std::int64_t>(size * std::pow(2.0, 2.0 / 3)))};
}

torch::Tensor cell_anchors(const std::vector<double>& scales, const std::vector<double>& ratios) {
  // torchvision computes in float32: the same dtype here, so that .round() sees the same values.
  const auto scales_s = torch::tensor(std::vector<float>(scales.begin(), scales.end()));
  const auto ratios_r = torch::tensor(std::vector<float>(ratios.begin(), ratios.end()));
  const auto h_ratios = ratios_r.sqrt();
  const auto w_ratios = 1 / h_ratios;
  const auto ws = (w_ratios.unsqueeze(1) * scales_s.unsqueeze(0)).reshape({-1});
  const auto hs = (h_ratios.unsqueeze(1) * scales_s.unsqueeze(0)).reshape({-1});
  return (torch::stack({-ws, -hs, ws, hs}, 1) / 2).round();
}

torch::Tensor grid_anchors(const torch::Tensor& cell_a4, std::int64_t height, std::int64_t width, std::int64_t stride_y,
                           std::int64_t stride_x) {
  const auto opts = torch::TensorOptions().dtype(torch::kInt).device(cell_a4.device());
  const auto shifts_x = torch::arange(0, width, opts) * stride_x;
  const auto shifts_y = torch::arange(0, height, opts) * stride_y;
  const auto grid = torch::meshgrid({shifts_y, shifts_x}, "ij");
  const auto sx = grid[1].reshape({-1}), sy = grid[0].reshape({-1});
  const auto shifts_n4 = torch::stack({sx, sy, sx, sy}, 1);
  return (shifts_n4.view({-1, 1, 4}) + cell_a4.view({1, -1, 4})).reshape({-1, 4});
}

torch::Tensor image_anchors(const std::vector<double>& base_sizes, const std::vector<double>& ratios,
                            const std::vector<std::array<std::int64_t, 2>>& feature_sizes, std::int64_t image_height,
                            std::int64_t image_width, const torch::Device& device) {
  std::vector<torch::Tensor> levels;
  for (std::size_t l = 0; l < base_sizes.size() && l < feature_sizes.size(); ++l) {
    const auto [h, w] = feature_sizes[l];
    const auto cell = cell_anchors(octave_scales(base_sizes[l]), ratios).to(device);
    levels.push_back(grid_anchors(cell, h, w, image_height / h, image_width / w));
  }
  return torch::cat(levels, 0);
}

torch::Tensor match_anchors(const torch::Tensor& iou_ga, std::int64_t anchors, double fg_iou, double bg_iou,
                            bool low_quality_matches) {
  if (iou_ga.size(0) == 0) {
    return torch::full({anchors}, kBackground, torch::TensorOptions().dtype(torch::kLong).device(iou_ga.device()));
  }
  auto [best_iou_a, best_object_a] = iou_ga.max(0);
  auto matches_a = best_object_a.clone();
  matches_a.masked_fill_(best_iou_a < bg_iou, kBackground);
  matches_a.masked_fill_((best_iou_a >= bg_iou).logical_and(best_iou_a < fg_iou), kIgnored);
  if (low_quality_matches) {
    // For each object, every anchor whose IoU ties the object's highest gets its own best object back (torchvision's
    // set_low_quality_matches_: not necessarily this object when an anchor ties several).
    const auto best_iou_g = std::get<0>(iou_ga.max(1));
    const auto anchors_to_update = torch::nonzero(iou_ga == best_iou_g.unsqueeze(1)).select(1, 1);
    matches_a.index_put_({anchors_to_update}, best_object_a.index_select(0, anchors_to_update));
  }
  return matches_a;
}

torch::Tensor sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double alpha,
                                 double gamma) {
  const auto p = logits.sigmoid();
  const auto ce = torch::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None);
  const auto p_t = p * targets + (1 - p) * (1 - targets);
  auto loss = ce * (1 - p_t).pow(gamma);
  if (alpha >= 0) {
    loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
  }
  return loss;
}

RetinaLoss retinanet_loss(const torch::Tensor& cls_logits_bak, const torch::Tensor& box_deltas_ba4,
                          const torch::Tensor& anchors_a4, const std::vector<ImageTargets>& targets,
                          const RetinaLossOptions& options) {
  const BoxCoder coder;
  const auto anchors = anchors_a4.size(0);
  std::vector<torch::Tensor> cls_losses, box_losses;
  RetinaLoss out;
  for (std::size_t b = 0; b < targets.size(); ++b) {
    const auto& t = targets[b];
    const auto bi = static_cast<std::int64_t>(b);
    const auto matched_a = t.boxes_g4.size(0) == 0
                               ? match_anchors(torch::zeros({0, anchors}, anchors_a4.options()), anchors)
                               : match_anchors(box_iou(t.boxes_g4, anchors_a4), anchors, options.fg_iou, options.bg_iou,
                                               options.low_quality_matches);
    out.matched_a.push_back(matched_a);
    const auto fg_a = matched_a >= 0;
    const auto fg_idx = torch::nonzero(fg_a).select(1, 0);
    const auto foreground = fg_idx.size(0);
    out.foreground += foreground;
    const double normaliser = static_cast<double>(std::max<std::int64_t>(1, foreground));
    const auto logits_ak = cls_logits_bak[bi];
    auto target_ak = torch::zeros_like(logits_ak);
    if (foreground > 0) {
      const auto objects = matched_a.index_select(0, fg_idx);
      target_ak.index_put_({fg_idx, t.labels_g.index_select(0, objects)}, 1.0);
    }
    const auto valid_idx = torch::nonzero(matched_a != kIgnored).select(1, 0);
    cls_losses.push_back(
        sigmoid_focal_loss(logits_ak.index_select(0, valid_idx), target_ak.index_select(0, valid_idx)).sum() /
        normaliser);
    const auto deltas = box_deltas_ba4[bi].index_select(0, fg_idx);
    const auto wanted = foreground > 0 ? coder.encode(t.boxes_g4.index_select(0, matched_a.index_select(0, fg_idx)),
                                                      anchors_a4.index_select(0, fg_idx))
                                       : torch::zeros_like(deltas);
    torch::Tensor diff;
    switch (options.box_loss) {
      case BoxLoss::l1:
        diff = torch::l1_loss(deltas, wanted.to(deltas.dtype()), at::Reduction::Sum);
        break;
      case BoxLoss::smooth_l1:
        diff = torch::smooth_l1_loss(deltas, wanted.to(deltas.dtype()), at::Reduction::Sum, options.smooth_l1_beta);
        break;
    }
    box_losses.push_back(diff / normaliser);
  }
  const double images = static_cast<double>(std::max<std::size_t>(1, targets.size()));
  out.classification = torch::stack(cls_losses).sum() / images;
  out.regression = torch::stack(box_losses).sum() / images;
  return out;
}

}  // namespace moexp::detect
