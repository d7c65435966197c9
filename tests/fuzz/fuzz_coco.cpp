// Fuzz target: the COCO annotation and results readers, and the evaluator on what they accept. Input: an annotation
// file, a NUL byte, a results file. Checks: only one-line InputErrors; an accepted pair evaluates to statistics in
// [0, 1] or -1.
#include "coco/dataset.hpp"
#include "coco/eval.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = moexp::fuzz::split_at_nul(data, size, 1);
  moexp::fuzz::expect_clean([&] {
    const auto gt = moexp::coco::parse_dataset(parts[0], "instances.json");
    if (parts.size() < 2 || gt.annotations.size() > 200) {
      return;
    }
    const auto dts = moexp::coco::parse_detections(parts[1], "results.json", gt);
    if (dts.size() > 500) {
      return;
    }
    const auto result = moexp::coco::evaluate(gt, dts);
    for (double s : result.stats) {
      if (!(s == -1 || (s >= 0 && s <= 1))) {
        moexp::fuzz::finding("a COCO statistic outside [0, 1] and not -1", std::to_string(s));
      }
    }
  });
  return 0;
}
