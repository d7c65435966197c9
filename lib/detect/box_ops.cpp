#include "detect/box_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

namespace moexp::detect {

torch::Tensor box_area(const torch::Tensor& boxes_n4) {
  return (boxes_n4.select(1, 2) - boxes_n4.select(1, 0)) * (boxes_n4.select(1, 3) - boxes_n4.select(1, 1));
}

torch::Tensor box_iou(const torch::Tensor& a_n4, const torch::Tensor& b_m4) {
  const auto area_a_n = box_area(a_n4);
  const auto area_b_m = box_area(b_m4);
  const auto lt_nm2 = torch::max(a_n4.unsqueeze(1).slice(2, 0, 2), b_m4.unsqueeze(0).slice(2, 0, 2));
  const auto rb_nm2 = torch::min(a_n4.unsqueeze(1).slice(2, 2, 4), b_m4.unsqueeze(0).slice(2, 2, 4));
  const auto wh_nm2 = (rb_nm2 - lt_nm2).clamp_min(0);
  const auto inter_nm = wh_nm2.select(2, 0) * wh_nm2.select(2, 1);
  return inter_nm / (area_a_n.unsqueeze(1) + area_b_m.unsqueeze(0) - inter_nm);
}

torch::Tensor clip_boxes(const torch::Tensor& boxes_n4, std::int64_t height, std::int64_t width) {
  const auto x = boxes_n4.index({torch::indexing::Slice(), torch::indexing::Slice(0, 4, 2)}).clamp(0, width);
  const auto y = boxes_n4.index({torch::indexing::Slice(), torch::indexing::Slice(1, 4, 2)}).clamp(0, height);
  return torch::stack({x.select(1, 0), y.select(1, 0), x.select(1, 1), y.select(1, 1)}, 1);
}

torch::Tensor BoxCoder::encode(const torch::Tensor& targets_n4, const torch::Tensor& anchors_n4) const {
  const auto aw = anchors_n4.select(1, 2) - anchors_n4.select(1, 0);
  const auto ah = anchors_n4.select(1, 3) - anchors_n4.select(1, 1);
  const auto ax = anchors_n4.select(1, 0) + 0.5 * aw;
  const auto ay = anchors_n4.select(1, 1) + 0.5 * ah;
  const auto tw = targets_n4.select(1, 2) - targets_n4.select(1, 0);
  const auto th = targets_n4.select(1, 3) - targets_n4.select(1, 1);
  const auto tx = targets_n4.select(1, 0) + 0.5 * tw;
  const auto ty = targets_n4.select(1, 1) + 0.5 * th;
  return torch::stack({weights[0] * (tx - ax) / aw, weights[1] * (ty - ay) / ah, weights[2] * torch::log(tw / aw),
                       weights[3] * torch::log(th / ah)},
                      1);
}

torch::Tensor BoxCoder::decode(const torch::Tensor& deltas_n4, const torch::Tensor& anchors_n4) const {
  const auto anchors = anchors_n4.to(deltas_n4.dtype());
  const auto aw = anchors.select(1, 2) - anchors.select(1, 0);
  const auto ah = anchors.select(1, 3) - anchors.select(1, 1);
  const auto ax = anchors.select(1, 0) + 0.5 * aw;
  const auto ay = anchors.select(1, 1) + 0.5 * ah;
  const auto dx = deltas_n4.select(1, 0) / weights[0];
  const auto dy = deltas_n4.select(1, 1) / weights[1];
  const auto dw = (deltas_n4.select(1, 2) / weights[2]).clamp_max(clamp);
  const auto dh = (deltas_n4.select(1, 3) / weights[3]).clamp_max(clamp);
  const auto cx = dx * aw + ax;
  const auto cy = dy * ah + ay;
  const auto w = torch::exp(dw) * aw;
  const auto h = torch::exp(dh) * ah;
  return torch::stack({cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h}, 1);
}

namespace {

// Greedy NMS over the boxes `members` (indices into b / s, 4 floats per box), appending the kept indices to `keep` in
// descending score order (ties: `members` order). The candidates are first copied in score order into separate
// coordinate arrays, so that the inner loop reads memory in sequence.
void nms_into(const float* b, const float* s, std::vector<std::int64_t> members, double iou_threshold,
              std::vector<std::int64_t>& keep) {
  std::stable_sort(members.begin(), members.end(), [&](std::int64_t i, std::int64_t j) { return s[i] > s[j]; });
  const std::size_t n = members.size();
  std::vector<float> x1(n), y1(n), x2(n), y2(n), area(n);
  for (std::size_t k = 0; k < n; ++k) {
    const float* box = b + 4 * members[k];
    x1[k] = box[0];
    y1[k] = box[1];
    x2[k] = box[2];
    y2[k] = box[3];
    area[k] = (box[2] - box[0]) * (box[3] - box[1]);
  }
  // The largest float <= the threshold: for a float IoU, iou > it exactly when double(iou) > the threshold (how
  // torchvision compares), and the loop stays in float.
  float threshold = static_cast<float>(iou_threshold);
  if (static_cast<double>(threshold) > iou_threshold) {
    threshold = std::nextafter(threshold, -std::numeric_limits<float>::infinity());
  }
  std::vector<unsigned char> suppressed(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (suppressed[i]) {
      continue;
    }
    keep.push_back(members[i]);
    const float ix1 = x1[i], iy1 = y1[i], ix2 = x2[i], iy2 = y2[i], iarea = area[i];
    for (std::size_t j = i + 1; j < n; ++j) {
      const float w = std::max(0.0f, std::min(ix2, x2[j]) - std::max(ix1, x1[j]));
      const float h = std::max(0.0f, std::min(iy2, y2[j]) - std::max(iy1, y1[j]));
      const float inter = w * h;
      suppressed[j] |= static_cast<unsigned char>(inter / (iarea + area[j] - inter) > threshold);
    }
  }
}

// Contiguous float CPU copies of the boxes and scores, checked.
std::pair<torch::Tensor, torch::Tensor> cpu_inputs(const torch::Tensor& boxes_n4, const torch::Tensor& scores_n) {
  TORCH_CHECK(boxes_n4.dim() == 2 && boxes_n4.size(1) == 4, "nms: boxes must be [N, 4]");
  TORCH_CHECK(scores_n.dim() == 1 && scores_n.size(0) == boxes_n4.size(0), "nms: one score per box");
  return {boxes_n4.detach().to(torch::kCPU, torch::kFloat).contiguous(),
          scores_n.detach().to(torch::kCPU, torch::kFloat).contiguous()};
}

}  // namespace

torch::Tensor nms(const torch::Tensor& boxes_n4, const torch::Tensor& scores_n, double iou_threshold) {
  const auto [boxes, scores] = cpu_inputs(boxes_n4, scores_n);
  std::vector<std::int64_t> all(static_cast<std::size_t>(boxes.size(0)));
  std::iota(all.begin(), all.end(), std::int64_t{0});
  std::vector<std::int64_t> keep;
  nms_into(boxes.data_ptr<float>(), scores.data_ptr<float>(), std::move(all), iou_threshold, keep);
  return torch::tensor(keep, torch::dtype(torch::kLong)).to(boxes_n4.device());
}

torch::Tensor batched_nms(const torch::Tensor& boxes_n4, const torch::Tensor& scores_n, const torch::Tensor& labels_n,
                          double iou_threshold) {
  // Per class, which gives what the coordinate-offset trick gives (boxes of different classes never suppress each
  // other) without testing every pair across classes; the kept boxes are merged by descending score, ties by index.
  const auto [boxes, scores] = cpu_inputs(boxes_n4, scores_n);
  TORCH_CHECK(labels_n.dim() == 1 && labels_n.size(0) == boxes.size(0), "batched_nms: one label per box");
  const auto labels = labels_n.detach().to(torch::kCPU, torch::kLong).contiguous();
  const std::int64_t* l = labels.data_ptr<std::int64_t>();
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (std::int64_t i = 0; i < boxes.size(0); ++i) {
    by_class[l[i]].push_back(i);
  }
  const float* s = scores.data_ptr<float>();
  std::vector<std::int64_t> keep;
  for (auto& [label, members] : by_class) {
    nms_into(boxes.data_ptr<float>(), s, std::move(members), iou_threshold, keep);
  }
  std::sort(keep.begin(), keep.end(),
            [&](std::int64_t i, std::int64_t j) { return s[i] > s[j] || (s[i] == s[j] && i < j); });
  return torch::tensor(keep, torch::dtype(torch::kLong)).to(boxes_n4.device());
}

}  // namespace moexp::detect
