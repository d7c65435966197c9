// Detection's routing kept token by token over an evaluation (report::DetectionRoutingRecord), for `moexp evaluate`'s
// --dump-routing and --gallery of detection runs: per image the heads' gate weights on every level, per ground-truth
// object its annotation and positive anchors per level, per detection its anchor's level.
#pragma once

#include "coco/dataset.hpp"
#include "detect/coco_loader.hpp"
#include "detect/retinanet.hpp"
#include "report/detection_gallery.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace moexp::train {

// The pyramid level (0 = P3) of anchor `anchor` of an image whose anchors are level-major, anchors_per_level each.
std::int64_t anchor_level(std::int64_t anchor, const std::vector<std::int64_t>& anchors_per_level);

class DetectionRecorder {
 public:
  // `val` (the evaluated split's annotations) must outlive the recorder; `heads` names the MoE heads in forward order.
  DetectionRecorder(const coco::Dataset& val, std::vector<std::string> heads, std::int64_t experts,
                    std::int64_t levels);

  // One batch: the heads' routing in `out`, each image's anchor matches (`matched_a`, as the loss computed them) and
  // its targets.
  void add_batch(const detect::RetinaHeadOutput& out, const std::vector<torch::Tensor>& matched_a,
                 const std::vector<detect::DetectionTarget>& targets);

  // One detection (original pixels) of the trained setting.
  void add_detection(const report::RoutedDetection& detection) { m_record.detections.push_back(detection); }

  const report::DetectionRoutingRecord& record() const { return m_record; }

 private:
  std::unordered_map<std::int64_t, const coco::Annotation*> m_annotations;
  report::DetectionRoutingRecord m_record;
};

}  // namespace moexp::train
