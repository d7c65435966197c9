#include "train/detection_record.hpp"

#include "core/error.hpp"
#include "train/detection_task.hpp"

#include <fmt/format.h>

namespace moexp::train {

std::int64_t anchor_level(std::int64_t anchor, const std::vector<std::int64_t>& anchors_per_level) {
  std::int64_t start = 0;
  for (std::size_t l = 0; l < anchors_per_level.size(); ++l) {
    start += anchors_per_level[l];
    if (anchor < start) {
      return static_cast<std::int64_t>(l);
    }
  }
  throw Error(fmt::format("anchor {} is past the image's {} anchors (a bug)", anchor, start));
}

DetectionRecorder::DetectionRecorder(const coco::Dataset& val, std::vector<std::string> heads, std::int64_t experts,
                                     std::int64_t levels) {
  for (const auto& a : val.annotations) {
    m_annotations.emplace(a.id, &a);
  }
  m_record.heads = std::move(heads);
  m_record.experts = experts;
  m_record.levels = levels;
}

void DetectionRecorder::add_batch(const detect::RetinaHeadOutput& out, const std::vector<torch::Tensor>& matched_a,
                                  const std::vector<detect::DetectionTarget>& targets) {
  // Per head, per level: [B, E] on the host.
  std::vector<std::vector<torch::Tensor>> weights_hl;
  for (const auto* head : {&out.cls_routing, &out.box_routing}) {
    if (head->weights_be.empty()) {
      continue;
    }
    std::vector<torch::Tensor> levels;
    for (const auto& w : head->weights_be) {
      levels.push_back(w.to(torch::kCPU, torch::kFloat).contiguous());
    }
    weights_hl.push_back(std::move(levels));
  }
  for (std::size_t b = 0; b < targets.size(); ++b) {
    const auto& target = targets[b];
    report::RoutedImage image{.image_id = target.image_id, .weights_hle = {}};
    for (const auto& levels : weights_hl) {
      std::vector<std::vector<float>> per_level;
      for (const auto& w_be : levels) {
        const auto* row = w_be.data_ptr<float>() + static_cast<std::int64_t>(b) * w_be.size(1);
        per_level.emplace_back(row, row + w_be.size(1));
      }
      image.weights_hle.push_back(std::move(per_level));
    }
    m_record.images.push_back(std::move(image));
    const auto ids = target.annotation_ids_n.to(torch::kCPU).contiguous();
    const auto counts = positive_anchor_counts(matched_a[b], ids.numel(), out.anchors_per_level).contiguous();
    const auto ca = counts.accessor<std::int64_t, 2>();
    const auto labels = target.labels_n.to(torch::kCPU).contiguous();
    for (std::int64_t g = 0; g < ids.numel(); ++g) {
      const auto id = ids.data_ptr<std::int64_t>()[g];
      const auto a = m_annotations.find(id);
      if (a == m_annotations.end()) {
        throw Error(fmt::format("detection record: annotation {} is not in the split (a bug)", id));
      }
      report::RoutedObject object{
          .image_id = target.image_id,
          .annotation_id = id,
          .label = labels.data_ptr<std::int64_t>()[g],
          .area = a->second->area,
          .box_xywh = {a->second->bbox.x, a->second->bbox.y, a->second->bbox.w, a->second->bbox.h},
          .positives_l = {}};
      for (std::int64_t l = 0; l < counts.size(1); ++l) {
        object.positives_l.push_back(ca[g][l]);
      }
      m_record.objects.push_back(std::move(object));
    }
  }
}

}  // namespace moexp::train
