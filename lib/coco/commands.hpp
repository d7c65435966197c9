// `moexp data eval-coco GT.json DETECTIONS.json [--json]` (Torch-free): COCO bbox evaluation of a results file.
#pragma once

#include "coco/eval.hpp"
#include "coco/shapes.hpp"

#include <string>

namespace moexp::coco {

struct EvalCocoRequest {
  std::string ground_truth;  // COCO instances file
  std::string detections;    // results file: [{image_id, category_id, bbox, score}, ...]
  bool json = false;         // the 12 stats and per-category AP as one JSON object
};

// The 12 summary lines exactly as pycocotools' COCOeval.summarize() prints them.
std::string summary_text(const EvalResult& result);

// {"stats": {"AP": ..., ...}, "categories": [{"id", "name", "ap"}, ...], "images", "detections"}.
std::string summary_json(const EvalResult& result, const Dataset& gt, std::size_t detections);

// Load both files (InputError, exit 2, on bad input), evaluate, print. Returns 0.
int run_eval_coco(const EvalCocoRequest& request);

// Generate the shapes set and print what each split holds (objects per COCO size bucket). Returns 0.
int run_data_shapes(const ShapesOptions& options);

}  // namespace moexp::coco
