// COCO bbox evaluation, the algorithm of pycocotools' cocoeval.py (evaluate, accumulate, summarize) with its float
// constants, stable sorts and rules (docs/detection.md, "COCO evaluation"), except that a match is a flag, never an
// annotation id (so an annotation with id 0 is not "unmatched"). Torch-free.
#pragma once

#include "coco/dataset.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace moexp::coco {

// numpy.linspace(.5, .95, 10) and numpy.linspace(0, 1, 101) as cocoeval computes them (i * step + start, the last
// element set to stop): IoU threshold 8 is 0.8999999999999999, recall threshold 35 is 0.35000000000000003.
std::array<double, 10> iou_thresholds();
std::array<double, 101> recall_thresholds();

inline constexpr std::array<int, 3> kMaxDets{1, 10, 100};

// Area ranges all, small, medium, large; both bounds inclusive (an area of 1024 is small and medium).
struct AreaRange {
  std::string_view name;
  double lo, hi;
};
inline constexpr std::array<AreaRange, 4> kAreaRanges{
    {{"all", 0, 1e10}, {"small", 0, 32.0 * 32}, {"medium", 32.0 * 32, 96.0 * 96}, {"large", 96.0 * 96, 1e10}}};

// The 12 summary statistics, in pycocotools' order.
inline constexpr std::array<std::string_view, 12> kStatNames{"AP",   "AP50",  "AP75",   "AP_S", "AP_M", "AP_L",
                                                             "AR@1", "AR@10", "AR@100", "AR_S", "AR_M", "AR_L"};

struct EvalResult {
  std::array<double, 12> stats{};          // -1 where nothing was evaluable (as pycocotools)
  std::vector<std::int64_t> category_ids;  // K categories of the ground truth, ascending
  std::vector<double> category_ap;         // per category: AP@[.5:.95], area all, 100 dets (-1 without ground truth)
  // precision[t][r][k][a][m] (T=10, R=101, K, A=4, M=3), flat in that order; -1 where undefined.
  std::vector<double> precision;
  // recall[t][k][a][m], flat; -1 where undefined.
  std::vector<double> recall;

  // precision at (iou threshold t, recall threshold r, category k, area a, max-dets index m).
  double precision_at(int t, int r, int k, int a, int m) const;
};

// How accumulate() turns ranked detections into precision and recall: `fast` (one integer pass per threshold) or
// `reference` (cocoeval.py's per-detection arrays, kept to test the fast one against; the same doubles).
enum class Accumulate { fast, reference };

// Evaluate `detections` against `gt` (every image and category of `gt`; detections of other categories ignored).
EvalResult evaluate(const Dataset& gt, const std::vector<Detection>& detections, Accumulate method = Accumulate::fast);

// IoU of detection box `d` with ground-truth box `g` as maskApi.c's bbIou: for a crowd `g`, intersection over the
// area of `d`.
double box_iou(const Box& d, const Box& g, bool crowd);

}  // namespace moexp::coco
