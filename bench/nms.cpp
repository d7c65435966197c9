// Bench: class-aware NMS (lib/detect) of 5,000 candidates, RetinaNet's worst case (top 1,000 per level x 5 levels)
// on a 640x640 image, 80 classes, IoU 0.5 (goal: a few ms on one core). Reference measured in the same run: the full
// 5,000 x 5,000 IoU matrix as one LibTorch expression (what a vectorised brute force would start from).
// Usage: build/bench/moexp_bench_nms [CANDIDATES]
#include "core/random.hpp"
#include "detect/box_ops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <vector>

using namespace moexp;

namespace {

// Median of 9 runs of `fn`, in seconds.
double median_seconds(const std::function<void()>& fn) {
  std::vector<double> runs;
  for (int i = 0; i < 9; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  const int n = argc > 1 ? std::atoi(argv[1]) : 5000;
  core::Random rng(11);
  auto boxes = torch::empty({n, 4});
  auto scores = torch::empty({n});
  auto labels = torch::empty({n}, torch::kLong);
  auto b = boxes.accessor<float, 2>();
  for (int i = 0; i < n; ++i) {
    // Clusters around 60 objects, as a detector's candidates are.
    const double cx = 40 + 560 * (static_cast<double>(i % 60) / 60.0) + rng.uniform(-6, 6);
    const double cy = 320 + 400 * ((i % 7) / 7.0 - 0.5) + rng.uniform(-6, 6);
    const double w = rng.uniform(16, 120), h = rng.uniform(16, 120);
    b[i][0] = static_cast<float>(cx - w / 2);
    b[i][1] = static_cast<float>(cy - h / 2);
    b[i][2] = static_cast<float>(cx + w / 2);
    b[i][3] = static_cast<float>(cy + h / 2);
    scores[i] = static_cast<float>(rng.uniform(0.05, 1.0));
    labels[i] = static_cast<std::int64_t>(rng.below(80));
  }
  std::int64_t kept = 0;
  const double ours = median_seconds([&] { kept = detect::batched_nms(boxes, scores, labels, 0.5).numel(); });
  std::int64_t kept_single = 0;
  const double single = median_seconds([&] { kept_single = detect::nms(boxes, scores, 0.5).numel(); });
  const double reference = median_seconds([&] { (void)detect::box_iou(boxes, boxes).sum().item<float>(); });
  fmt::print("{:<52} {:>9} {:>12}\n", fmt::format("NMS, {} candidates, 1 thread", n), "ms", "x reference");
  fmt::print("{:<52} {:>9.2f} {:>12.2f}\n", "reference: full IoU matrix in LibTorch", 1e3 * reference, 1.0);
  fmt::print("{:<52} {:>9.2f} {:>12.4f}\n", "moexp batched_nms, 80 classes (goal: a few ms)", 1e3 * ours,
             ours / reference);
  fmt::print("{:<52} {:>9.2f} {:>12.4f}\n", "moexp nms, class-agnostic", 1e3 * single, single / reference);
  fmt::print("(kept {} of {} class-aware, {} class-agnostic; median of 9 runs)\n", kept, n, kept_single);
  return 0;
}
