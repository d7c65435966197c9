// Bench: COCO bbox evaluation (lib/coco/eval) of IMAGES images x DETS detections over 80 categories, the scale of a
// COCO val2017 evaluation (goal: 5,000 x 100 well under a second on one core). Reference measured in the same run:
// one IoU per detection against each ground truth of its image (the arithmetic any evaluator must do once).
// Usage: build/bench/moexp_bench_coco_eval [IMAGES] [DETS]
#include "coco/eval.hpp"
#include "core/random.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>

using namespace moexp::coco;

namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int images = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int per_image = argc > 2 ? std::atoi(argv[2]) : 100;
  moexp::core::Random rng{7};
  Dataset gt;
  for (int c = 1; c <= 80; ++c) {
    gt.categories.push_back({c * 2 - 1, fmt::format("c{}", c)});  // non-contiguous ids
  }
  std::vector<Detection> dts;
  for (int i = 1; i <= images; ++i) {
    gt.images.push_back({i, "", 640, 480});
    const int objects = 1 + static_cast<int>(rng.uniform() * 12);  // COCO: ~7 per image
    for (int o = 0; o < objects; ++o) {
      const double w = 4 + rng.uniform() * 300;
      const double h = 4 + rng.uniform() * 300;
      const Box b{rng.uniform() * (640 - w), rng.uniform() * (480 - h), w, h};
      const std::int64_t cat = 2 * (1 + static_cast<int>(rng.uniform() * 80)) - 1;
      gt.annotations.push_back(
          {static_cast<std::int64_t>(gt.annotations.size()) + 1, i, cat, b, w * h, rng.uniform() < 0.01});
    }
    for (int d = 0; d < per_image; ++d) {
      // Half near a ground truth of the image (jittered), half anywhere, with any category.
      const auto& near = gt.annotations[gt.annotations.size() - 1 - static_cast<std::size_t>(rng.uniform() * objects)];
      Box b = near.bbox;
      std::int64_t cat = near.category_id;
      if (d % 2) {
        b = {rng.uniform() * 600, rng.uniform() * 440, 4 + rng.uniform() * 200, 4 + rng.uniform() * 200};
        cat = 2 * (1 + static_cast<int>(rng.uniform() * 80)) - 1;
      } else {
        b.x += (rng.uniform() - 0.5) * 0.3 * b.w;
        b.y += (rng.uniform() - 0.5) * 0.3 * b.h;
      }
      dts.push_back({i, cat, b, rng.uniform()});
    }
  }
  // Reference: every detection's IoU with every ground truth of its image (annotations are grouped by image).
  std::vector<std::size_t> first(static_cast<std::size_t>(images) + 2, 0);
  for (const auto& a : gt.annotations) {
    ++first[static_cast<std::size_t>(a.image_id) + 1];
  }
  for (std::size_t i = 1; i < first.size(); ++i) {
    first[i] += first[i - 1];
  }
  double checksum = 0;
  const double reference = seconds_of([&] {
    for (const auto& d : dts) {
      const auto i = static_cast<std::size_t>(d.image_id);
      for (std::size_t g = first[i]; g < first[i + 1]; ++g) {
        checksum += box_iou(d.bbox, gt.annotations[g].bbox, false);
      }
    }
  });
  EvalResult result;
  const double eval = seconds_of([&] { result = evaluate(gt, dts); });
  fmt::print("{:<44} {:>9} {:>12}\n", fmt::format("COCO eval ({} images x {} detections)", images, per_image),
             "seconds", "x reference");
  fmt::print("{:<44} {:>9.3f} {:>12.1f}\n", "reference: one IoU per (detection, gt of image)", reference, 1.0);
  fmt::print("{:<44} {:>9.3f} {:>12.1f}\n", "moexp coco::evaluate (goal < 1 s)", eval, eval / reference);
  fmt::print("({} ground truths, {} detections; AP {:.3f}, AP50 {:.3f}; checksum {:.1f})\n", gt.annotations.size(),
             dts.size(), result.stats[0], result.stats[1], checksum);
  return 0;
}
