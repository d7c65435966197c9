// `moexp data eval-coco` through the real binary: pycocotools' summary lines, --json, and bad files as one error line
// with exit code 2.
#include "e2e/process.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace moexp::test;

namespace {

// mmdetection's COCO evaluation test fixture: one 640x640 image, 4 ground truths over 2 categories.
const char* const kGroundTruth = R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 640}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [50, 60, 20, 20], "area": 400, "iscrowd": 0},
  {"id": 2, "image_id": 1, "category_id": 0, "bbox": [280, 340, 30, 30], "area": 900, "iscrowd": 0},
  {"id": 3, "image_id": 1, "category_id": 1, "bbox": [220, 180, 40, 40], "area": 1600, "iscrowd": 0},
  {"id": 4, "image_id": 1, "category_id": 0, "bbox": [310, 100, 100, 100], "area": 10000, "iscrowd": 0}],
 "categories": [{"id": 0, "name": "car"}, {"id": 1, "name": "bicycle"}]})";

const char* const kDetections = R"([{"image_id": 1, "category_id": 0, "bbox": [50, 60, 20, 20], "score": 1},
 {"image_id": 1, "category_id": 0, "bbox": [280, 340, 30, 30], "score": 1},
 {"image_id": 1, "category_id": 1, "bbox": [220, 180, 40, 40], "score": 1},
 {"image_id": 1, "category_id": 0, "bbox": [310, 100, 100, 100], "score": 1}])";

ProcessResult eval_coco(const TempDir& dir, const std::string& detections, const std::vector<std::string>& extra = {}) {
  write_file(dir / "gt.json", kGroundTruth);
  write_file(dir / "dt.json", detections);
  std::vector<std::string> argv{MOEXP_BIN, "data", "eval-coco", (dir / "gt.json").string(), (dir / "dt.json").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run(argv, dir.path(), 60);
}

}  // namespace

TEST_CASE("e2e coco: eval-coco prints pycocotools' 12 summary lines") {
  TempDir dir;
  const auto r = eval_coco(dir, kDetections);
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000\n", 0) == 0);
  CHECK(r.out.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.667\n") !=
        std::string::npos);
  CHECK(r.out.find(" Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 1.000\n") !=
        std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 12);
}

TEST_CASE("e2e coco: eval-coco --json has the stats by name and per-category AP") {
  TempDir dir;
  const auto r = eval_coco(dir, kDetections, {"--json"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"AR@1\": 0.6666666666666667") != std::string::npos);
  CHECK(r.out.find("{\"id\": 1, \"name\": \"bicycle\", \"ap\": ") != std::string::npos);
  CHECK(r.out.find("\"detections\": 4") != std::string::npos);
}

TEST_CASE("e2e coco: a bad results file is one error line naming it, exit 2") {
  TempDir dir;
  const auto r = eval_coco(dir, R"([{"image_id": 2, "category_id": 0, "bbox": [1, 1, 1, 1], "score": 1}])");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("dt.json: detection [0]: image 2 is not in the ground truth") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
