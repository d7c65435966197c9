// The COCO evaluator, one hand-computed case per rule of pycocotools' cocoeval.py (docs/detection.md); the arithmetic
// of each expected value is written next to it.
#include "coco/eval.hpp"
#include "core/random.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>

using namespace moexp::coco;

namespace {

constexpr int kAP = 0, kAP50 = 1, kAP75 = 2, kAPs = 3, kAPm = 4, kAPl = 5, kAR1 = 6, kAR10 = 7, kAR100 = 8, kARs = 9,
              kARm = 10, kARl = 11;

// A dataset of `images` 1000x1000 images (ids 1..n) and categories 1 and 2, with no annotations yet.
Dataset base(int images = 1) {
  Dataset d;
  for (int i = 1; i <= images; ++i) {
    d.images.push_back({i, "im" + std::to_string(i) + ".png", 1000, 1000});
  }
  d.categories = {{1, "one"}, {2, "two"}};
  return d;
}

void add_gt(Dataset& d, std::int64_t image, std::int64_t category, Box b, bool crowd = false, double area = -1) {
  const auto id = static_cast<std::int64_t>(d.annotations.size()) + 1;
  d.annotations.push_back({id, image, category, b, area < 0 ? b.w * b.h : area, crowd});
}

}  // namespace

TEST_CASE("coco eval: thresholds are numpy's linspace, not the naive sums") {
  const auto iou = iou_thresholds();
  CHECK(iou[0] == 0.5);
  CHECK(iou[2] == 0.6);
  CHECK(iou[5] == 0.75);                // summarize() finds AP75 by equality
  CHECK(iou[8] == 0.8999999999999999);  // not 0.9
  CHECK(iou[8] != 0.5 + 0.05 * 8);
  CHECK(iou[9] == 0.95);
  const auto rec = recall_thresholds();
  CHECK(rec[35] == 0.35000000000000003);  // not 35 / 100.0
  CHECK(rec[35] != 35 / 100.0);
  CHECK(rec[100] == 1.0);
}

TEST_CASE("coco eval: box IoU as maskApi's bbIou, crowd over the detection's area") {
  // [0,0,10,10] vs [5,5,10,10]: intersection 5x5 = 25, union 100 + 100 - 25 = 175.
  CHECK(box_iou({0, 0, 10, 10}, {5, 5, 10, 10}, false) == doctest::Approx(25.0 / 175));
  // Crowd: 25 over the detection's 100.
  CHECK(box_iou({0, 0, 10, 10}, {5, 5, 10, 10}, true) == doctest::Approx(0.25));
  CHECK(box_iou({0, 0, 10, 10}, {10, 0, 10, 10}, false) == 0);  // touching: no overlap
}

TEST_CASE("coco eval: the mmdet fixture - exact detections give AP 1, AR@1 2/3 (maxDets is per category)") {
  // mmdet tests/test_evaluation/test_metrics/test_coco_metric.py: one 640x640 image, 4 ground truths.
  Dataset d;
  d.images = {{0, "fake.jpg", 640, 640}};
  d.categories = {{0, "car"}, {1, "bicycle"}};
  d.annotations = {{1, 0, 0, {50, 60, 20, 20}, 400, false},
                   {2, 0, 0, {280, 340, 30, 30}, 900, false},
                   {3, 0, 1, {220, 180, 40, 40}, 1600, false},
                   {4, 0, 0, {310, 100, 100, 100}, 10000, false}};
  std::vector<Detection> dts;
  for (const auto& a : d.annotations) {
    dts.push_back({0, a.category_id, a.bbox, 1.0});
  }
  const auto r = evaluate(d, dts);
  for (int s : {kAP, kAP50, kAP75, kAPs, kAPm, kAPl}) {
    CHECK(r.stats[s] == doctest::Approx(1.0));
  }
  // AR@1: one detection per category and image: car recalls 1 of 3, bicycle 1 of 1 -> (1/3 + 1) / 2.
  CHECK(r.stats[kAR1] == doctest::Approx(2.0 / 3).epsilon(1e-12));
  CHECK(r.stats[kAR10] == doctest::Approx(1.0));
}

TEST_CASE("coco eval: an annotation with id 0 is matched like any other") {
  Dataset d = base();
  add_gt(d, 1, 1, {10, 10, 50, 50});
  d.annotations[0].id = 0;  // pycocotools would read its match as "unmatched"
  const auto r = evaluate(d, {{1, 1, {10, 10, 50, 50}, 0.9}});
  CHECK(r.stats[kAP] == doctest::Approx(1.0));
}

TEST_CASE("coco eval: recall 7/20 stops below recall threshold 35 (0.35000000000000003)") {
  // 20 ground truths, 7 found exactly: precision 1 for recall up to 7/20 = 0.35 (as a double, 0.34999999999999998),
  // which reaches recall thresholds 0 .. 34 but not 35: AP = 35 / 101 at every IoU threshold (naive i/100: 36/101).
  Dataset d = base();
  std::vector<Detection> dts;
  for (int g = 0; g < 20; ++g) {
    const Box b{50.0 * g, 10, 40, 40};
    add_gt(d, 1, 1, b);
    if (g < 7) {
      dts.push_back({1, 1, b, 1.0 - 0.01 * g});
    }
  }
  const auto r = evaluate(d, dts);
  CHECK(r.stats[kAP] == doctest::Approx(35.0 / 101).epsilon(1e-12));
  CHECK(r.stats[kAP50] == doctest::Approx(35.0 / 101).epsilon(1e-12));
  CHECK(r.stats[kAR100] == doctest::Approx(0.35));
}

TEST_CASE("coco eval: area bounds are inclusive - an area of exactly 1024 is small and medium") {
  Dataset d = base();
  add_gt(d, 1, 1, {100, 100, 32, 32});  // area 1024
  const auto r = evaluate(d, {{1, 1, {100, 100, 32, 32}, 0.9}});
  CHECK(r.stats[kAPs] == doctest::Approx(1.0));
  CHECK(r.stats[kAPm] == doctest::Approx(1.0));
  CHECK(r.stats[kAPl] == -1);  // no large ground truth anywhere
  CHECK(r.stats[kARl] == -1);
}

TEST_CASE("coco eval: ground truth is binned by its area field, detections by w x h") {
  // A 40x40 box (1600 px, medium) whose area field says 900 (small, as a mask area can be).
  Dataset d = base();
  add_gt(d, 1, 1, {100, 100, 40, 40}, false, 900);
  const auto r = evaluate(d, {{1, 1, {100, 100, 40, 40}, 0.9}});
  // Small: the ground truth counts, and the detection matched it, so its own medium area does not matter.
  CHECK(r.stats[kAPs] == doctest::Approx(1.0));
  // Medium: the ground truth is ignored (900 < 1024), the detection that matched it too: nothing to evaluate.
  CHECK(r.stats[kAPm] == -1);
}

TEST_CASE("coco eval: crowd regions match by the detection's area, several times, and never count") {
  // Regular A [0,0,10,10]; crowd C [100,100,100,100]. d1 = A exactly (0.9); d2, d3 = 20x20 boxes inside C (0.8, 0.7):
  // crowd IoU 400/400 = 1, so both match C and are ignored (plain IoU 400/10000 would make them false positives).
  // One true positive, no false positive: AP 1. The crowd region is not a ground truth to recall (npig = 1).
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 10, 10});
  add_gt(d, 1, 1, {100, 100, 100, 100}, true);
  const auto r =
      evaluate(d, {{1, 1, {0, 0, 10, 10}, 0.9}, {1, 1, {110, 110, 20, 20}, 0.8}, {1, 1, {150, 150, 20, 20}, 0.7}});
  CHECK(r.stats[kAP] == doctest::Approx(1.0));
  CHECK(r.stats[kAR100] == doctest::Approx(1.0));
}

TEST_CASE("coco eval: a match with a regular ground truth stops the search before the ignored ones") {
  // Regular A [0,0,100,100]; crowd C [0,0,100,60]; d = [0,0,100,60]: IoU with A 6000/10000 = 0.6, crowd IoU with C 1.
  // Thresholds 0.5, 0.55, 0.6: d matches A first and `break`s before C -> a true positive (precision 1).
  // Thresholds 0.65 .. 0.95: A is below the threshold, d matches C -> ignored; A is not found (precision 0).
  // AP = 3/10, AR@100 = 3/10. (Taking the best IoU over all ground truth would give 0.)
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 100, 100});
  add_gt(d, 1, 1, {0, 0, 100, 60}, true);
  const auto r = evaluate(d, {{1, 1, {0, 0, 100, 60}, 0.9}});
  CHECK(r.stats[kAP] == doctest::Approx(0.3));
  CHECK(r.stats[kAR100] == doctest::Approx(0.3));
  CHECK(r.stats[kAP50] == doctest::Approx(1.0));
  CHECK(r.stats[kAP75] == doctest::Approx(0.0));
}

TEST_CASE("coco eval: of two ground truths with equal IoU the later one is taken") {
  // G1 [0,0,10,10], G2 [4,0,10,10]; d1 [2,0,10,10] (0.9) has IoU 80/120 with both; d2 [-2,0,10,10] (0.8) has 80/120
  // with G1 and 40/160 with G2. d1 takes G2 (later wins the tie), leaving G1 to d2: two true positives at thresholds
  // 0.5 .. 0.65 (IoU 0.667), none above -> AP = 4/10. (Earlier-wins would leave d2 unmatched: AP = 4/10 * 51/101.)
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 10, 10});
  add_gt(d, 1, 1, {4, 0, 10, 10});
  const auto r = evaluate(d, {{1, 1, {2, 0, 10, 10}, 0.9}, {1, 1, {-2, 0, 10, 10}, 0.8}});
  CHECK(r.stats[kAP] == doctest::Approx(0.4).epsilon(1e-12));
}

TEST_CASE("coco eval: a duplicate detection is a false positive, and precision is made monotone") {
  // G1, G2; detections: G1 (0.9), G1 again (0.8), G2 (0.7): TP, FP, TP. rc = [.5, .5, 1],
  // pr = [1, 1/2, 2/(3 + eps)] -> monotone [1, 2/3, 2/3]. Recall thresholds 0 .. 0.5 (51 of them) read pr[0] = 1,
  // 0.51 .. 1 (50) read pr[2] = 2/3: AP = (51 + 50 * 2/3) / 101 at every IoU threshold.
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 50, 50});
  add_gt(d, 1, 1, {200, 200, 50, 50});
  const auto r =
      evaluate(d, {{1, 1, {0, 0, 50, 50}, 0.9}, {1, 1, {0, 0, 50, 50}, 0.8}, {1, 1, {200, 200, 50, 50}, 0.7}});
  CHECK(r.stats[kAP] == doctest::Approx((51 + 50 * (2.0 / 3)) / 101).epsilon(1e-12));
}

TEST_CASE("coco eval: an image without ground truth adds false positives, a category without it is left out") {
  // Image 1: G (category 1) found at score 0.5. Image 2: no ground truth, a category-1 detection at 0.9 (FP first):
  // rc = [0, 1], pr = [0, 1/2] -> monotone [1/2, 1/2]: AP = 0.5. Category 2 has no ground truth: its detection costs
  // nothing and category 2 is not in the mean (its AP is -1). A category the file does not list is ignored.
  Dataset d = base(2);
  add_gt(d, 1, 1, {10, 10, 50, 50});
  const std::vector<Detection> dts{{1, 1, {10, 10, 50, 50}, 0.5},
                                   {2, 1, {10, 10, 50, 50}, 0.9},
                                   {1, 2, {300, 300, 50, 50}, 0.99},
                                   {1, 7, {10, 10, 50, 50}, 0.99}};
  const auto r = evaluate(d, dts);
  CHECK(r.stats[kAP] == doctest::Approx(0.5));
  REQUIRE(r.category_ids == std::vector<std::int64_t>{1, 2});
  CHECK(r.category_ap[0] == doctest::Approx(0.5));
  CHECK(r.category_ap[1] == -1);
}

TEST_CASE("coco eval: an unmatched detection outside the area range does not count in that range") {
  // Small G found at 0.5; a large false positive (200x200) at 0.9. All areas: FP then TP -> AP 0.5. Small: the large
  // FP is outside the range and ignored -> AP_S 1.
  Dataset d = base();
  add_gt(d, 1, 1, {10, 10, 20, 20});
  const auto r = evaluate(d, {{1, 1, {10, 10, 20, 20}, 0.5}, {1, 1, {500, 500, 200, 200}, 0.9}});
  CHECK(r.stats[kAP] == doctest::Approx(0.5));
  CHECK(r.stats[kAPs] == doctest::Approx(1.0));
  CHECK(r.stats[kAPl] == -1);
}

TEST_CASE("coco eval: maxDets 1 / 10 / 100 count per image and category, 100 detections are kept per cell") {
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 50, 50});
  add_gt(d, 1, 1, {100, 0, 50, 50});
  auto r = evaluate(d, {{1, 1, {0, 0, 50, 50}, 0.9}, {1, 1, {100, 0, 50, 50}, 0.8}});
  CHECK(r.stats[kAR1] == doctest::Approx(0.5));
  CHECK(r.stats[kAR10] == doctest::Approx(1.0));
  // 100 false positives scored above the one exact detection: it is the 101st of its cell and never evaluated.
  Dataset one = base();
  add_gt(one, 1, 1, {0, 0, 50, 50});
  std::vector<Detection> dts;
  for (int i = 0; i < 100; ++i) {
    dts.push_back({1, 1, {500, 500, 10, 10}, 0.9});
  }
  dts.push_back({1, 1, {0, 0, 50, 50}, 0.1});
  r = evaluate(one, dts);
  CHECK(r.stats[kAP] == 0);
  CHECK(r.stats[kAR100] == 0);
}

TEST_CASE("coco eval: no detections give 0 where there is ground truth, no ground truth gives -1") {
  Dataset d = base();
  add_gt(d, 1, 1, {0, 0, 50, 50});
  auto r = evaluate(d, {});
  CHECK(r.stats[kAP] == 0);
  CHECK(r.stats[kAR100] == 0);
  CHECK(r.stats[kAPm] == 0);   // the 2500 px box is medium
  CHECK(r.stats[kAPs] == -1);  // and nothing is small
  r = evaluate(base(), {{1, 1, {0, 0, 50, 50}, 0.9}});
  for (double s : r.stats) {
    CHECK(s == -1);
  }
}

TEST_CASE("coco eval: perfect detections score 1, the order of detections with distinct scores does not matter") {
  Dataset d = base(20);
  moexp::core::Random rng{42};
  std::vector<Detection> dts;
  for (int im = 1; im <= 20; ++im) {
    for (int n = 0; n < 6; ++n) {
      const double size = 8 + 150 * rng.uniform();  // every size bucket
      const Box b{rng.uniform() * 800, rng.uniform() * 800, size, size * (0.5 + rng.uniform())};
      const int cat = 1 + static_cast<int>(rng.uniform() * 2);
      add_gt(d, im, cat, b);
      dts.push_back({im, cat, b, 0.5 + 0.4 * rng.uniform()});
    }
  }
  auto perfect = evaluate(d, dts);
  for (int s : {kAP, kAP50, kAP75, kAPs, kAPm, kAPl, kAR10, kAR100, kARs, kARm, kARl}) {
    CHECK(perfect.stats[s] == doctest::Approx(1.0));
  }
  // Perturb the boxes (some below the IoU thresholds), then shuffle: every statistic is bit-identical.
  for (auto& det : dts) {
    det.bbox.x += 10 * (rng.uniform() - 0.5);
    det.bbox.w *= 0.8 + 0.4 * rng.uniform();
  }
  const auto before = evaluate(d, dts).stats;
  std::vector<Detection> shuffled = dts;
  for (std::size_t i = shuffled.size(); i-- > 1;) {
    std::swap(shuffled[i], shuffled[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i + 1))]);
  }
  const auto after = evaluate(d, shuffled).stats;
  for (std::size_t s = 0; s < before.size(); ++s) {
    CHECK(before[s] == after[s]);
  }
  CHECK(before[kAP] < 1.0);
  CHECK(before[kAP] > 0.0);
}

TEST_CASE("coco eval: the one-pass accumulation gives cocoeval's per-detection figures bit for bit") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    moexp::core::Random rng{seed};
    Dataset d = base(30);
    std::vector<Detection> dts;
    for (int im = 1; im <= 30; ++im) {
      const int objects = static_cast<int>(rng.uniform() * 6);  // some images without ground truth
      for (int n = 0; n < objects; ++n) {
        const double size = 5 + 140 * rng.uniform();
        const Box b{rng.uniform() * 800, rng.uniform() * 800, size, size};
        add_gt(d, im, 1 + static_cast<int>(rng.uniform() * 2), b, rng.uniform() < 0.1);
      }
      for (int n = 0; n < 15; ++n) {
        Box b{rng.uniform() * 800, rng.uniform() * 800, 5 + 140 * rng.uniform(), 5 + 140 * rng.uniform()};
        if (objects > 0 && rng.uniform() < 0.6) {
          b = d.annotations[d.annotations.size() - 1 - static_cast<std::size_t>(rng.uniform() * objects)].bbox;
          b.x += 6 * (rng.uniform() - 0.5);
        }
        // Scores on a coarse grid: ties, broken by input order.
        dts.push_back({im, 1 + static_cast<int>(rng.uniform() * 2), b, static_cast<int>(rng.uniform() * 8) / 8.0});
      }
    }
    const auto fast = evaluate(d, dts, Accumulate::fast);
    const auto reference = evaluate(d, dts, Accumulate::reference);
    CHECK(fast.precision == reference.precision);
    CHECK(fast.recall == reference.recall);
    CHECK(fast.stats == reference.stats);
  }
}
