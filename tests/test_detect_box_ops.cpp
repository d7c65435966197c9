#include "core/random.hpp"
#include "detect/box_ops.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

using namespace moexp;
using namespace moexp::detect;

namespace {

struct B {
  double x1, y1, x2, y2;
};

std::vector<B> random_boxes(core::Random& rng, int n, double extent = 200) {
  std::vector<B> out;
  for (int i = 0; i < n; ++i) {
    const double x = rng.uniform(0, extent), y = rng.uniform(0, extent);
    out.push_back({x, y, x + rng.uniform(1, 60), y + rng.uniform(1, 60)});
  }
  return out;
}

torch::Tensor to_tensor(const std::vector<B>& boxes) {
  auto t = torch::empty({static_cast<std::int64_t>(boxes.size()), 4});
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const auto n = static_cast<std::int64_t>(i);
    t[n][0] = boxes[i].x1;
    t[n][1] = boxes[i].y1;
    t[n][2] = boxes[i].x2;
    t[n][3] = boxes[i].y2;
  }
  return t;
}

double iou(const B& a, const B& b) {
  const double w = std::max(0.0, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const double h = std::max(0.0, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const double inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

// Brute-force greedy NMS over plain structs: the definition, with no shared code.
std::vector<std::int64_t> nms_reference(const std::vector<B>& boxes, const std::vector<double>& scores, double thr) {
  std::vector<std::int64_t> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) { return scores[i] > scores[j]; });
  std::vector<std::int64_t> keep;
  for (auto i : order) {
    bool suppressed = false;
    for (auto k : keep) {
      suppressed = suppressed || iou(boxes[static_cast<std::size_t>(i)], boxes[static_cast<std::size_t>(k)]) > thr;
    }
    if (!suppressed) {
      keep.push_back(i);
    }
  }
  return keep;
}

std::vector<std::int64_t> as_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

}  // namespace

TEST_CASE("detect box ops: box_iou matches the definition on random boxes") {
  core::Random rng(1);
  const auto a = random_boxes(rng, 30);
  const auto b = random_boxes(rng, 20);
  const auto m = box_iou(to_tensor(a), to_tensor(b));
  REQUIRE(m.sizes() == torch::IntArrayRef({30, 20}));
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      CHECK(m[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(j)].item<double>() ==
            doctest::Approx(iou(a[i], b[j])).epsilon(1e-5));
    }
  }
  // [0,0,10,10] vs [5,5,15,15]: 25 / (100 + 100 - 25).
  CHECK(box_iou(to_tensor({{0, 0, 10, 10}}), to_tensor({{5, 5, 15, 15}})).item<double>() ==
        doctest::Approx(25.0 / 175));
  CHECK(box_area(to_tensor({{1, 2, 4, 6}})).item<double>() == 12);
}

TEST_CASE("detect box ops: the box coder's deltas by hand, its round trip, and the dw/dh clamp") {
  const BoxCoder coder;
  const auto anchors = to_tensor({{0, 0, 10, 20}, {100, 100, 132, 132}});
  // Target = anchor shifted right by half its width and twice as tall: dx 0.5, dy 0, dw 0, dh log 2.
  const auto deltas = coder.encode(to_tensor({{5, -10, 15, 30}, {100, 100, 132, 132}}), anchors);
  CHECK(deltas[0][0].item<double>() == doctest::Approx(0.5));
  CHECK(deltas[0][1].item<double>() == doctest::Approx(0.0));
  CHECK(deltas[0][2].item<double>() == doctest::Approx(0.0));
  CHECK(deltas[0][3].item<double>() == doctest::Approx(std::log(2.0)));
  CHECK(deltas[1].abs().sum().item<double>() == 0);  // a target equal to its anchor
  core::Random rng(2);
  const auto targets = to_tensor(random_boxes(rng, 50));
  const auto more_anchors = to_tensor(random_boxes(rng, 50));
  const BoxCoder weighted{{10, 10, 5, 5}};  // torchvision's Faster R-CNN weights: the round trip holds for any
  for (const auto* c : {&coder, &weighted}) {
    const auto back = c->decode(c->encode(targets, more_anchors), more_anchors);
    CHECK(torch::allclose(back, targets, 1e-4, 1e-3));
  }
  // A huge dw is clamped at log(1000/16): the width grows at most 62.5x.
  const auto wide = coder.decode(torch::tensor({{0.0f, 0.0f, 50.0f, 0.0f}}), to_tensor({{0, 0, 16, 16}}));
  CHECK((wide[0][2] - wide[0][0]).item<double>() == doctest::Approx(1000.0));
}

TEST_CASE("detect box ops: clip_boxes keeps boxes inside the image") {
  const auto c = clip_boxes(to_tensor({{-5, -3, 50, 70}, {10, 10, 20, 20}}), 60, 40);
  CHECK(c[0][0].item<double>() == 0);
  CHECK(c[0][1].item<double>() == 0);
  CHECK(c[0][2].item<double>() == 40);
  CHECK(c[0][3].item<double>() == 60);
  CHECK(c[1][2].item<double>() == 20);
}

TEST_CASE("detect box ops: nms and batched_nms give brute-force greedy NMS") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    core::Random rng(seed);
    const auto boxes = random_boxes(rng, 300, 150);  // crowded: many overlaps
    std::vector<double> scores;
    std::vector<std::int64_t> labels;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      scores.push_back(static_cast<int>(rng.uniform() * 50) / 50.0);  // ties: input order decides
      labels.push_back(static_cast<std::int64_t>(rng.below(3)));
    }
    const auto boxes_t = to_tensor(boxes);
    const auto scores_t = torch::tensor(scores, torch::kDouble).to(torch::kFloat);
    for (double thr : {0.3, 0.5, 0.7}) {
      CHECK(as_vector(nms(boxes_t, scores_t, thr)) == nms_reference(boxes, scores, thr));
      // Per class: the reference run class by class, merged by descending score (stable).
      std::vector<std::int64_t> expected;
      for (std::int64_t c = 0; c < 3; ++c) {
        std::vector<B> cb;
        std::vector<double> cs;
        std::vector<std::int64_t> index;
        for (std::size_t i = 0; i < boxes.size(); ++i) {
          if (labels[i] == c) {
            cb.push_back(boxes[i]);
            cs.push_back(scores[i]);
            index.push_back(static_cast<std::int64_t>(i));
          }
        }
        for (auto k : nms_reference(cb, cs, thr)) {
          expected.push_back(index[static_cast<std::size_t>(k)]);
        }
      }
      std::stable_sort(expected.begin(), expected.end(), [&](auto i, auto j) {
        return scores[static_cast<std::size_t>(i)] > scores[static_cast<std::size_t>(j)] ||
               (scores[static_cast<std::size_t>(i)] == scores[static_cast<std::size_t>(j)] && i < j);
      });
      CHECK(as_vector(batched_nms(boxes_t, scores_t, torch::tensor(labels), thr)) == expected);
    }
  }
  // IoU exactly at the threshold is kept (suppression is IoU > threshold): [0,0,10,10] and [0,0,10,5] have IoU 0.5.
  const auto pair = to_tensor({{0, 0, 10, 10}, {0, 0, 10, 5}});
  const auto two_scores = torch::tensor({0.9f, 0.8f});
  CHECK(nms(pair, two_scores, 0.5).numel() == 2);
  CHECK(nms(pair, two_scores, 0.49).numel() == 1);
  // 0.7 is not a float: an IoU of float(0.7) = 0.69999999 is not above it (torchvision compares in double).
  CHECK(nms(to_tensor({{0, 0, 10, 10}, {0, 0, 10, 7}}), two_scores, 0.7).numel() == 2);
  CHECK(nms(torch::empty({0, 4}), torch::empty({0}), 0.5).numel() == 0);
  CHECK(batched_nms(torch::empty({0, 4}), torch::empty({0}), torch::empty({0}, torch::kLong), 0.5).numel() == 0);
}
