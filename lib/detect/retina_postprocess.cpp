#include "detect/retina_postprocess.hpp"

#include "detect/box_ops.hpp"

#include <algorithm>
#include <cstdint>

namespace moexp::detect {

Detections postprocess_detections(const torch::Tensor& cls_logits_ak, const torch::Tensor& box_deltas_a4,
                                  const torch::Tensor& anchors_a4, const std::vector<std::int64_t>& anchors_per_level,
                                  std::int64_t image_height, std::int64_t image_width,
                                  const PostprocessOptions& options) {
  torch::NoGradGuard no_grad;
  const BoxCoder coder;
  const auto classes = cls_logits_ak.size(1);
  std::vector<torch::Tensor> boxes, scores, labels, anchors;
  std::int64_t first = 0;
  for (const auto count : anchors_per_level) {
    const auto scores_n = cls_logits_ak.narrow(0, first, count).sigmoid().flatten();
    const auto above_n = torch::nonzero(scores_n > options.score_threshold).select(1, 0);
    const auto kept = std::min<std::int64_t>(options.candidates_per_level, above_n.size(0));
    const auto [top_scores, order] = scores_n.index_select(0, above_n).topk(kept);
    const auto pair_n = above_n.index_select(0, order);
    const auto anchor_n = pair_n.div(classes, "floor") + first;
    const auto decoded = coder.decode(box_deltas_a4.index_select(0, anchor_n), anchors_a4.index_select(0, anchor_n));
    boxes.push_back(clip_boxes(decoded, image_height, image_width));
    scores.push_back(top_scores);
    labels.push_back(pair_n.remainder(classes));
    anchors.push_back(anchor_n);
    first += count;
  }
  Detections d;
  const auto all_boxes = torch::cat(boxes), all_scores = torch::cat(scores);
  const auto all_labels = torch::cat(labels), all_anchors = torch::cat(anchors);
  auto keep = batched_nms(all_boxes, all_scores, all_labels, options.nms_iou).to(all_boxes.device());
  keep = keep.narrow(0, 0, std::min<std::int64_t>(options.max_detections, keep.size(0)));
  d.boxes_d4 = all_boxes.index_select(0, keep);
  d.scores_d = all_scores.index_select(0, keep);
  d.labels_d = all_labels.index_select(0, keep);
  d.anchors_d = all_anchors.index_select(0, keep);
  return d;
}

}  // namespace moexp::detect
