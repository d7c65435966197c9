// COCO bbox evaluation after pycocotools' cocoeval.py; see eval.hpp and docs/detection.md for the rules.
#include "coco/eval.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace moexp::coco {
namespace {

constexpr int kT = 10;
constexpr int kR = 101;
constexpr int kA = static_cast<int>(kAreaRanges.size());
constexpr int kM = static_cast<int>(kMaxDets.size());
constexpr int kMaxDet = kMaxDets.back();

// The ground truth and detections of one (category, image).
struct Cell {
  std::vector<std::size_t> gts;
  std::vector<std::size_t> dts;
};

// One detection's outcome at the T IoU thresholds: bit t of `matched` / `ignored` for threshold t.
struct DetectionMarks {
  double score = 0;
  std::uint16_t matched = 0;
  std::uint16_t ignored = 0;
};
static_assert(kT <= 16, "one bit per IoU threshold");

// evaluateImg's result for one (category, area range, image); `present` false where pycocotools returns None. Its
// detections (at most kMaxDet, in descending score order) are marks[offset .. offset + count) of a shared pool.
struct ImageEval {
  bool present = false;
  std::uint32_t count = 0;
  std::size_t offset = 0;
  std::int64_t gt_not_ignored = 0;
};

// Indices 0..n-1 stable-sorted by `key` ascending (numpy's argsort(kind='mergesort')).
template <typename Key>
std::vector<std::size_t> stable_order(std::size_t n, Key key) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return order;
}

// evaluateImg for every area range of one (category, image) with its detections already in score order (cut to
// kMaxDet) and their IoUs with the cell's ground truth, ious[d * G + g].
void evaluate_cell(const Dataset& gt, const std::vector<Detection>& dts, const Cell& cell,
                   const std::vector<std::size_t>& dt_sorted, const std::vector<double>& ious,
                   const std::array<double, kT>& thresholds, std::vector<DetectionMarks>& marks,
                   ImageEval* out_by_area) {
  const auto n_gt = cell.gts.size();
  const auto n_dt = dt_sorted.size();
  for (int a = 0; a < kA; ++a) {
    const auto& range = kAreaRanges[static_cast<std::size_t>(a)];
    std::vector<unsigned char> ignored(n_gt);
    for (std::size_t g = 0; g < n_gt; ++g) {
      const auto& ann = gt.annotations[cell.gts[g]];
      ignored[g] = ann.iscrowd || ann.area < range.lo || ann.area > range.hi;
    }
    // Ground truth with the ignored last, in file order otherwise.
    const auto gt_order = stable_order(n_gt, [&](std::size_t g) { return ignored[g]; });
    ImageEval& e = out_by_area[a];
    e.present = true;
    e.count = static_cast<std::uint32_t>(n_dt);
    e.offset = marks.size();
    marks.resize(marks.size() + n_dt);
    DetectionMarks* detections = marks.data() + e.offset;
    for (std::size_t d = 0; d < n_dt; ++d) {
      detections[d].score = dts[dt_sorted[d]].score;
    }
    e.gt_not_ignored = std::count(ignored.begin(), ignored.end(), 0);
    if (n_gt > 0 && n_dt > 0) {
      std::vector<unsigned char> gt_matched(n_gt);
      for (int t = 0; t < kT; ++t) {
        std::fill(gt_matched.begin(), gt_matched.end(), 0);
        for (std::size_t d = 0; d < n_dt; ++d) {
          double best = std::min(thresholds[static_cast<std::size_t>(t)], 1 - 1e-10);
          std::ptrdiff_t match = -1;  // position in gt_order
          for (std::size_t p = 0; p < n_gt; ++p) {
            const std::size_t g = gt_order[p];
            const bool crowd = gt.annotations[cell.gts[g]].iscrowd;
            if (gt_matched[p] && !crowd) {
              continue;  // a regular ground truth matches one detection per threshold
            }
            if (match > -1 && !ignored[gt_order[static_cast<std::size_t>(match)]] && ignored[g]) {
              break;  // matched a regular one already: the ignored ones (sorted last) cannot take it
            }
            const double iou = ious[d * n_gt + g];
            if (iou < best) {
              continue;
            }
            best = iou;  // later ground truth wins ties
            match = static_cast<std::ptrdiff_t>(p);
          }
          if (match == -1) {
            continue;
          }
          const auto m = static_cast<std::size_t>(match);
          const auto bit = static_cast<std::uint16_t>(1u << t);
          if (ignored[gt_order[m]]) {
            detections[d].ignored |= bit;
          }
          detections[d].matched |= bit;
          gt_matched[m] = 1;
        }
      }
    }
    // Unmatched detections outside the area range do not count.
    for (std::size_t d = 0; d < n_dt; ++d) {
      const auto& box = dts[dt_sorted[d]].bbox;
      const double area = box.w * box.h;
      if (area < range.lo || area > range.hi) {
        auto& mark = detections[d];
        mark.ignored = static_cast<std::uint16_t>(mark.ignored | (~mark.matched & ((1u << kT) - 1)));
      }
    }
  }
}

// Mean of the entries > -1 of `values`, or -1 when there is none (summarize's rule).
double mean_defined(const std::vector<double>& values) {
  double sum = 0;
  std::size_t n = 0;
  for (double v : values) {
    if (v > -1) {
      sum += v;
      ++n;
    }
  }
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

constexpr double kEps = std::numeric_limits<double>::epsilon();  // numpy's spacing(1)

// accumulate() for one (category, area, max-dets, threshold t) as cocoeval.py writes it: cumulative tp / fp arrays,
// rc = tp / npig, pr = tp / (fp + tp + eps) made non-increasing from the right, pr[searchsorted(rc, r, 'left')].
template <typename PrecisionAt>
void accumulate_reference(const std::vector<DetectionMarks>& ranked, int t, std::int64_t npig,
                          const std::array<double, kR>& recall_thrs, double& recall, PrecisionAt precision_at) {
  const std::size_t nd = ranked.size();
  std::vector<double> rc(nd);
  std::vector<double> pr(nd);
  double tp = 0;
  double fp = 0;
  for (std::size_t j = 0; j < nd; ++j) {
    const bool matched = (ranked[j].matched >> t) & 1u;
    const bool ignored = (ranked[j].ignored >> t) & 1u;
    tp += matched && !ignored ? 1 : 0;
    fp += !matched && !ignored ? 1 : 0;
    rc[j] = tp / static_cast<double>(npig);
    pr[j] = tp / (fp + tp + kEps);
  }
  recall = nd > 0 ? rc.back() : 0.0;
  for (std::size_t j = nd; j-- > 1;) {
    if (pr[j] > pr[j - 1]) {
      pr[j - 1] = pr[j];
    }
  }
  std::size_t pi = 0;
  for (int r = 0; r < kR; ++r) {
    while (pi < nd && rc[pi] < recall_thrs[static_cast<std::size_t>(r)]) {
      ++pi;
    }
    precision_at(r) = pi < nd ? pr[pi] : 0.0;
  }
}

// The same figures from one integer pass. pr only rises at a true positive (between two of them fp grows), so the
// right-to-left maximum at any position is the maximum over the true positives from there on; and the first position
// whose recall reaches threshold r is the needed[r]-th true positive. The same doubles as the reference, computed
// once per true positive instead of twice per detection.
template <typename PrecisionAt>
void accumulate_fast(const std::vector<DetectionMarks>& ranked, int t, const std::array<std::int64_t, kR>& needed,
                     double& recall, PrecisionAt precision_at, std::int64_t npig, std::vector<std::int64_t>& fp_at_tp,
                     std::vector<double>& suffix_max) {
  fp_at_tp.clear();
  std::int64_t fp = 0;
  for (const auto& x : ranked) {
    const unsigned matched = (x.matched >> t) & 1u;
    const unsigned ignored = (x.ignored >> t) & 1u;
    if (!ignored) {
      if (matched) {
        fp_at_tp.push_back(fp);
      } else {
        ++fp;
      }
    }
  }
  const std::size_t tps = fp_at_tp.size();
  recall = ranked.empty() ? 0.0 : static_cast<double>(tps) / static_cast<double>(npig);
  suffix_max.resize(tps);
  for (std::size_t n = tps; n-- > 0;) {
    const auto tp = static_cast<double>(n + 1);
    const double pr = tp / (static_cast<double>(fp_at_tp[n]) + tp + kEps);
    suffix_max[n] = n + 1 < tps && suffix_max[n + 1] > pr ? suffix_max[n + 1] : pr;
  }
  for (int r = 0; r < kR; ++r) {
    const std::int64_t c = needed[static_cast<std::size_t>(r)];
    double q = 0.0;
    if (!ranked.empty()) {
      if (c == 0) {
        q = tps > 0 ? suffix_max[0] : 0.0;  // position 0: pr there is 0 unless it is the first true positive
      } else if (static_cast<std::size_t>(c) <= tps) {
        q = suffix_max[static_cast<std::size_t>(c - 1)];
      }
    }
    precision_at(r) = q;
  }
}
}  // namespace

std::array<double, 10> iou_thresholds() {
  std::array<double, 10> out{};
  const double step = (0.95 - 0.5) / 9;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<double>(i) * step + 0.5;
  }
  out.back() = 0.95;
  return out;
}

std::array<double, 101> recall_thresholds() {
  std::array<double, 101> out{};
  const double step = 1.0 / 100;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<double>(i) * step + 0.0;
  }
  out.back() = 1.0;
  return out;
}

double box_iou(const Box& d, const Box& g, bool crowd) {
  const double w = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  if (w <= 0) {
    return 0;
  }
  const double h = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (h <= 0) {
    return 0;
  }
  const double inter = w * h;
  const double uni = crowd ? d.w * d.h : d.w * d.h + g.w * g.h - inter;
  return inter / uni;
}

double EvalResult::precision_at(int t, int r, int k, int a, int m) const {
  const auto K = static_cast<int>(category_ids.size());
  return precision[static_cast<std::size_t>((((t * kR + r) * K + k) * kA + a) * kM + m)];
}

EvalResult evaluate(const Dataset& gt, const std::vector<Detection>& detections, Accumulate method) {
  std::vector<std::int64_t> image_ids;
  image_ids.reserve(gt.images.size());
  for (const auto& im : gt.images) {
    image_ids.push_back(im.id);
  }
  std::sort(image_ids.begin(), image_ids.end());
  image_ids.erase(std::unique(image_ids.begin(), image_ids.end()), image_ids.end());
  EvalResult result;
  for (const auto& c : gt.categories) {
    result.category_ids.push_back(c.id);
  }
  std::sort(result.category_ids.begin(), result.category_ids.end());
  result.category_ids.erase(std::unique(result.category_ids.begin(), result.category_ids.end()),
                            result.category_ids.end());
  const std::size_t I = image_ids.size();
  const std::size_t K = result.category_ids.size();
  std::unordered_map<std::int64_t, std::size_t> image_index;
  std::unordered_map<std::int64_t, std::size_t> category_index;
  for (std::size_t i = 0; i < I; ++i) {
    image_index.emplace(image_ids[i], i);
  }
  for (std::size_t k = 0; k < K; ++k) {
    category_index.emplace(result.category_ids[k], k);
  }

  // _prepare: ground truth and detections by (category, image) cell, in file order within a cell (a stable sort by
  // cell); other images and categories are not evaluated.
  struct Ref {
    std::size_t key;  // k * I + i
    std::size_t index;
  };
  auto refs_of = [&](const auto& items) {
    std::vector<Ref> refs;
    refs.reserve(items.size());
    for (std::size_t n = 0; n < items.size(); ++n) {
      const auto i = image_index.find(items[n].image_id);
      const auto k = category_index.find(items[n].category_id);
      if (i != image_index.end() && k != category_index.end()) {
        refs.push_back({k->second * I + i->second, n});
      }
    }
    std::stable_sort(refs.begin(), refs.end(), [](const Ref& x, const Ref& y) { return x.key < y.key; });
    return refs;
  };
  const auto gt_refs = refs_of(gt.annotations);
  const auto dt_refs = refs_of(detections);

  // evaluate: computeIoU and evaluateImg per cell and area range (evaluation index (k * A + a) * I + i).
  const auto thresholds = iou_thresholds();
  std::vector<ImageEval> evals(K * static_cast<std::size_t>(kA) * I);
  std::vector<DetectionMarks> marks;
  marks.reserve(dt_refs.size() * kA);
  Cell cell;
  std::vector<double> ious;
  std::size_t g_next = 0;
  std::size_t d_next = 0;
  while (g_next < gt_refs.size() || d_next < dt_refs.size()) {
    const std::size_t key = std::min(g_next < gt_refs.size() ? gt_refs[g_next].key : SIZE_MAX,
                                     d_next < dt_refs.size() ? dt_refs[d_next].key : SIZE_MAX);
    cell.gts.clear();
    cell.dts.clear();
    for (; g_next < gt_refs.size() && gt_refs[g_next].key == key; ++g_next) {
      cell.gts.push_back(gt_refs[g_next].index);
    }
    for (; d_next < dt_refs.size() && dt_refs[d_next].key == key; ++d_next) {
      cell.dts.push_back(dt_refs[d_next].index);
    }
    const std::size_t k = key / I;
    const std::size_t i = key % I;
    auto dt_sorted = stable_order(cell.dts.size(), [&](std::size_t d) { return -detections[cell.dts[d]].score; });
    for (auto& d : dt_sorted) {
      d = cell.dts[d];
    }
    if (dt_sorted.size() > static_cast<std::size_t>(kMaxDet)) {
      dt_sorted.resize(static_cast<std::size_t>(kMaxDet));
    }
    const std::size_t G = cell.gts.size();
    ious.resize(dt_sorted.size() * G);
    for (std::size_t d = 0; d < dt_sorted.size(); ++d) {
      for (std::size_t g = 0; g < G; ++g) {
        const auto& ann = gt.annotations[cell.gts[g]];
        ious[d * G + g] = box_iou(detections[dt_sorted[d]].bbox, ann.bbox, ann.iscrowd);
      }
    }
    // The A area-range entries of (k, i) are I apart; gather them through a small buffer.
    ImageEval by_area[kA];
    evaluate_cell(gt, detections, cell, dt_sorted, ious, thresholds, marks, by_area);
    for (int a = 0; a < kA; ++a) {
      evals[(k * kA + static_cast<std::size_t>(a)) * I + i] = by_area[a];
    }
  }

  // accumulate.
  const auto recall_thrs = recall_thresholds();
  result.precision.assign(static_cast<std::size_t>(kT) * kR * K * kA * kM, -1.0);
  result.recall.assign(static_cast<std::size_t>(kT) * K * kA * kM, -1.0);
  // A detection of one cell in the category's score order: its image and rank within the cell.
  struct Ranked {
    double score;
    std::uint32_t image;
    std::uint32_t d;
  };
  std::vector<Ranked> order;
  std::vector<DetectionMarks> ranked;
  std::array<std::int64_t, kR> needed{};
  std::vector<std::int64_t> fp_at_tp;
  std::vector<double> suffix_max;
  for (std::size_t k = 0; k < K; ++k) {
    // Cells exist for every area range alike: one score order per category. A stable sort of the cells' detections
    // concatenated in image order; cutting each cell to maxDets keeps that order (a stable sort's subsequence).
    order.clear();
    for (std::size_t i = 0; i < I; ++i) {
      const auto& e = evals[(k * kA) * I + i];
      if (e.present) {
        for (std::uint32_t d = 0; d < e.count; ++d) {
          order.push_back({marks[e.offset + d].score, static_cast<std::uint32_t>(i), d});
        }
      }
    }
    std::stable_sort(order.begin(), order.end(), [](const Ranked& x, const Ranked& y) { return x.score > y.score; });
    for (int a = 0; a < kA; ++a) {
      const ImageEval* area_evals = &evals[(k * kA + static_cast<std::size_t>(a)) * I];
      bool present = false;
      std::int64_t npig = 0;
      for (std::size_t i = 0; i < I; ++i) {
        if (area_evals[i].present) {
          present = true;
          npig += area_evals[i].gt_not_ignored;
        }
      }
      if (!present || npig == 0) {
        continue;  // stays -1: no ground truth to recall (false positives here cost nothing)
      }
      // needed[r]: the fewest true positives whose recall tp / npig reaches recall threshold r (npig + 1: never).
      for (int r = 0; r < kR; ++r) {
        const double thr = recall_thrs[static_cast<std::size_t>(r)];
        auto c = static_cast<std::int64_t>(std::ceil(thr * static_cast<double>(npig)));
        while (c > 0 && static_cast<double>(c - 1) / static_cast<double>(npig) >= thr) {
          --c;
        }
        while (c <= npig && static_cast<double>(c) / static_cast<double>(npig) < thr) {
          ++c;
        }
        needed[static_cast<std::size_t>(r)] = c;
      }
      for (int m = 0; m < kM; ++m) {
        const auto max_det = static_cast<std::uint32_t>(kMaxDets[static_cast<std::size_t>(m)]);
        ranked.clear();
        for (const auto& x : order) {
          if (x.d < max_det) {
            ranked.push_back(marks[area_evals[x.image].offset + x.d]);
          }
        }
        for (int t = 0; t < kT; ++t) {
          const auto tkam = ((static_cast<std::size_t>(t) * K + k) * kA + static_cast<std::size_t>(a)) * kM +
                            static_cast<std::size_t>(m);
          auto precision_at = [&](int r) -> double& {
            return result.precision[((((static_cast<std::size_t>(t) * kR + static_cast<std::size_t>(r)) * K + k) * kA +
                                      static_cast<std::size_t>(a)) *
                                         kM +
                                     static_cast<std::size_t>(m))];
          };
          if (method == Accumulate::reference) {
            accumulate_reference(ranked, t, npig, recall_thrs, result.recall[tkam], precision_at);
          } else {
            accumulate_fast(ranked, t, needed, result.recall[tkam], precision_at, npig, fp_at_tp, suffix_max);
          }
        }
      }
    }
  }

  // summarize.
  auto ap = [&](std::ptrdiff_t t_only, int a, int m) {
    if (t_only < -1) {
      return -1.0;  // a threshold the array does not hold: nothing selected
    }
    std::vector<double> values;
    for (int t = 0; t < kT; ++t) {
      if (t_only >= 0 && t != t_only) {
        continue;
      }
      for (int r = 0; r < kR; ++r) {
        for (std::size_t k = 0; k < K; ++k) {
          values.push_back(result.precision_at(t, r, static_cast<int>(k), a, m));
        }
      }
    }
    return mean_defined(values);
  };
  auto ar = [&](int a, int m) {
    std::vector<double> values;
    for (int t = 0; t < kT; ++t) {
      for (std::size_t k = 0; k < K; ++k) {
        values.push_back(result.recall[((static_cast<std::size_t>(t) * K + k) * kA + static_cast<std::size_t>(a)) * kM +
                                       static_cast<std::size_t>(m)]);
      }
    }
    return mean_defined(values);
  };
  // summarize() selects a threshold by equality with the array, as here: 0.5 and 0.75 are exact elements.
  auto threshold_index = [&](double value) {
    const auto it = std::find(thresholds.begin(), thresholds.end(), value);
    return it == thresholds.end() ? std::ptrdiff_t{-2} : it - thresholds.begin();
  };
  const int last = kM - 1;
  result.stats = {ap(-1, 0, last),
                  ap(threshold_index(0.5), 0, last),
                  ap(threshold_index(0.75), 0, last),
                  ap(-1, 1, last),
                  ap(-1, 2, last),
                  ap(-1, 3, last),
                  ar(0, 0),
                  ar(0, 1),
                  ar(0, 2),
                  ar(1, last),
                  ar(2, last),
                  ar(3, last)};
  result.category_ap.resize(K);
  for (std::size_t k = 0; k < K; ++k) {
    std::vector<double> values;
    for (int t = 0; t < kT; ++t) {
      for (int r = 0; r < kR; ++r) {
        values.push_back(result.precision_at(t, r, static_cast<int>(k), 0, last));
      }
    }
    result.category_ap[k] = mean_defined(values);
  }
  return result;
}

}  // namespace moexp::coco
