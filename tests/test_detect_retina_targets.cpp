// RetinaNet's anchors, matching and losses against torchvision 0.14 (Debian's python3-torchvision): the expected
// values below were printed by tests/data/retina_targets_reference.py (torchvision's AnchorGenerator, Matcher,
// sigmoid_focal_loss and RetinaNetHead's loss arithmetic) for the same inputs, formulas written alike on both sides.
#include "detect/retina_postprocess.hpp"
#include "detect/retina_targets.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace moexp;
using namespace moexp::detect;

namespace {

std::vector<float> values_of(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

TEST_CASE("retina targets: octave scales and cell anchors are torchvision's (truncated scales, rounded corners)") {
  CHECK(octave_scales(32) == std::vector<double>{32, 40, 50});
  CHECK(octave_scales(64) == std::vector<double>{64, 80, 101});
  CHECK(octave_scales(512) == std::vector<double>{512, 645, 812});
  const auto cell = cell_anchors(octave_scales(32), {0.5, 1.0, 2.0});
  CHECK(values_of(cell) == std::vector<float>{-23, -11, 23, 11, -28, -14, 28, 14, -35, -18, 35, 18,
                                              -16, -16, 16, 16, -20, -20, 20, 20, -25, -25, 25, 25,
                                              -11, -23, 11, 23, -14, -28, 14, 28, -18, -35, 18, 35});
}

TEST_CASE("retina targets: an image's anchors over two levels, strides by integer division, cell corners as shifts") {
  // A 40 x 36 padded image, feature maps 5 x 5 and 3 x 3, halved base sizes 16 and 32: strides (8, 7) and (13, 12).
  const auto a = image_anchors({16, 32}, {0.5, 1.0, 2.0}, {{5, 5}, {3, 3}}, 40, 36);
  REQUIRE(a.sizes() == std::vector<std::int64_t>{306, 4});  // (25 + 9) cells x 9 anchors
  CHECK(a.sum().item<double>() == 17550.0);
  CHECK(values_of(a[0]) == std::vector<float>{-11, -6, 11, 6});
  CHECK(values_of(a[100]) == std::vector<float>{-7, 9, 21, 23});
  CHECK(values_of(a[305]) == std::vector<float>{6, -9, 42, 61});
}

TEST_CASE("retina targets: matching with thresholds 0.5 / 0.4 and torchvision's low-quality matches") {
  const auto iou = torch::tensor({0.9, 0.45, 0.3, 0.2, 0.0, 0.35,  //
                                  0.1, 0.45, 0.0, 0.2, 0.0, 0.35,  //
                                  0.0, 0.0, 0.0, 0.0, 0.0, 0.39})
                       .view({3, 6});
  // Anchor 1 ties object 1's best IoU (0.45) and gets its own best object back: object 0 (the first of its tie);
  // anchor 5 is object 2's best (0.39, below 0.4) and is matched to it.
  CHECK(values_of(match_anchors(iou, 6)) == std::vector<float>{0, 0, -1, -1, -1, 2});
  CHECK(values_of(match_anchors(iou, 6, 0.5, 0.4, false)) == std::vector<float>{0, -2, -1, -1, -1, -1});
  CHECK(values_of(match_anchors(torch::zeros({0, 4}), 4)) == std::vector<float>{-1, -1, -1, -1});
}

TEST_CASE("retina targets: sigmoid focal loss, elementwise, alpha 0.25 and gamma 2") {
  const auto loss = sigmoid_focal_loss(torch::tensor({-3.0f, -0.5f, 0.0f, 0.7f, 4.0f}),
                                       torch::tensor({0.0f, 1.0f, 1.0f, 0.0f, 1.0f}));
  const std::vector<double> expected{8.196242561098188e-05, 0.09435289353132248, 0.043321698904037476,
                                     0.36940863728523254, 1.4678996649308829e-06};
  const auto got = values_of(loss);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5));
  }
}

TEST_CASE("retina targets: the batch loss equals torchvision's, with an image without objects") {
  const auto anchors = image_anchors({16, 32}, {0.5, 1.0, 2.0}, {{5, 5}, {3, 3}}, 40, 36);
  const std::int64_t a = anchors.size(0), k = 3;
  const auto cls = (torch::arange(2 * a * k, torch::kFloat) * 0.37).sin().view({2, a, k}) * 2;
  const auto reg = (torch::arange(2 * a * 4, torch::kFloat) * 0.11).cos().view({2, a, 4}) * 0.5;
  std::vector<ImageTargets> targets{
      {torch::tensor({4.0f, 6.0f, 20.0f, 18.0f, 10.0f, 2.0f, 34.0f, 38.0f}).view({2, 4}), torch::tensor({2L, 0L})},
      {torch::zeros({0, 4}), torch::zeros({0}, torch::kLong)}};
  const auto l1 = retinanet_loss(cls, reg, anchors, targets);
  CHECK(l1.foreground == 12);
  CHECK(l1.classification.item<double>() == doctest::Approx(191.14239501953125).epsilon(1e-6));
  CHECK(l1.regression.item<double>() == doctest::Approx(0.6462301015853882).epsilon(1e-6));
  const auto smooth = retinanet_loss(cls, reg, anchors, targets, {BoxLoss::smooth_l1});
  CHECK(smooth.regression.item<double>() == doctest::Approx(0.15741485357284546).epsilon(1e-6));
  // The matches come back per image, as match_anchors gives them; without low-quality matches (the reference code)
  // only anchors at IoU >= 0.5 are foreground.
  REQUIRE(l1.matched_a.size() == 2);
  CHECK(torch::equal(l1.matched_a[0], match_anchors(box_iou(targets[0].boxes_g4, anchors), a)));
  CHECK((l1.matched_a[1] == kBackground).all().item<bool>());
  RetinaLossOptions strict;
  strict.low_quality_matches = false;
  const auto without = retinanet_loss(cls, reg, anchors, targets, strict);
  const auto strict_matches = match_anchors(box_iou(targets[0].boxes_g4, anchors), a, 0.5, 0.4, false);
  CHECK(torch::equal(without.matched_a[0], strict_matches));
  CHECK(without.foreground == (strict_matches >= 0).sum().item<std::int64_t>());
  CHECK(without.foreground <= l1.foreground);
  // Gradients reach both heads' outputs.
  auto cls_g = cls.clone().requires_grad_(true), reg_g = reg.clone().requires_grad_(true);
  const auto with_grad = retinanet_loss(cls_g, reg_g, anchors, targets);
  (with_grad.classification + with_grad.regression).backward();
  CHECK(cls_g.grad().abs().sum().item<double>() > 0);
  CHECK(reg_g.grad()[1].abs().sum().item<double>() == 0.0);  // no objects: no box loss in image 1
}

TEST_CASE(
    "retina targets: post-processing equals torchvision's (threshold, top candidates per level, decode, clip, "
    "class-aware NMS)") {
  const auto anchors = image_anchors({16, 32}, {0.5, 1.0, 2.0}, {{5, 5}, {3, 3}}, 40, 36);
  const std::int64_t a = anchors.size(0), k = 3;
  const auto logits = ((torch::arange(a * k, torch::kFloat) * 0.37).sin() * 3 - 2).view({a, k});
  const auto deltas = ((torch::arange(a * 4, torch::kFloat) * 0.11).cos() * 0.3).view({a, 4});
  const auto d = postprocess_detections(logits, deltas, anchors, {225, 81}, 40, 36);
  REQUIRE(d.boxes_d4.size(0) == 133);
  CHECK(d.scores_d.sum().item<double>() == doctest::Approx(75.0801010131836).epsilon(1e-6));
  CHECK(d.boxes_d4.sum().item<double>() == doctest::Approx(7521.716796875).epsilon(1e-6));
  CHECK(d.labels_d.sum().item<std::int64_t>() == 138);
  const auto first = values_of(d.boxes_d4[0]);
  const std::vector<double> expected{13.472274780273438, 0.17809677124023438, 28.4002685546875, 14.64143180847168};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(first[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
  CHECK(d.scores_d[0].item<double>() == doctest::Approx(0.7310572266578674).epsilon(1e-6));
  CHECK(d.labels_d[0].item<std::int64_t>() == 0);
  // Each detection's anchor: its box is that anchor decoded.
  const auto redone = BoxCoder{}.decode(deltas.index_select(0, d.anchors_d), anchors.index_select(0, d.anchors_d));
  CHECK(torch::allclose(clip_boxes(redone, 40, 36), d.boxes_d4));
  PostprocessOptions few;
  few.max_detections = 10;
  CHECK(postprocess_detections(logits, deltas, anchors, {225, 81}, 40, 36, few).scores_d.size(0) == 10);
}
