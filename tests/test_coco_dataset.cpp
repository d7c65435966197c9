#include "coco/dataset.hpp"

#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

using namespace moexp;
using namespace moexp::coco;
using moexp::test::message_of;

namespace {

// A valid file with what real COCO has besides: info, licenses, segmentation, non-contiguous category ids.
const char* const kValid = R"({
  "info": {"year": 2017}, "licenses": [{"id": 1, "name": "x"}],
  "images": [{"id": 7, "file_name": "a.png", "width": 200, "height": 100, "license": 1},
             {"id": 9, "file_name": "b.png", "width": 64, "height": 64}],
  "annotations": [
    {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20.5, 30, 40], "area": 1100.5, "iscrowd": 0,
     "segmentation": [[10, 20, 40, 20, 40, 60]]},
    {"id": 2, "image_id": 7, "category_id": 90, "bbox": [0, 0, 200, 100], "iscrowd": 1,
     "segmentation": {"counts": [1, 2, 3], "size": [100, 200]}},
    {"id": 3, "image_id": 9, "category_id": 3, "bbox": [63.5, 0, 1, 64.4], "area": 10, "iscrowd": false}
  ],
  "categories": [{"id": 3, "name": "disc", "supercategory": "shape"}, {"id": 90, "name": "ring"}]
})";

// The error of loading `json` as an annotation file.
std::string dataset_error(const std::string& json) {
  test::TempDir dir;
  const auto path = test::write_file(dir / "instances.json", json);
  return message_of<InputError>([&] { load_dataset(path); });
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("coco dataset: a valid file is read with only what detection needs") {
  test::TempDir dir;
  const auto d = load_dataset(test::write_file(dir / "instances.json", kValid));
  REQUIRE(d.images.size() == 2);
  CHECK(d.images[0].id == 7);
  CHECK(d.images[0].file_name == "a.png");
  CHECK(d.images[0].width == 200);
  CHECK(d.images[0].height == 100);
  REQUIRE(d.annotations.size() == 3);
  CHECK(d.annotations[0].bbox.y == 20.5);
  CHECK(d.annotations[0].area == 1100.5);
  CHECK_FALSE(d.annotations[0].iscrowd);
  CHECK(d.annotations[1].iscrowd);
  CHECK(d.annotations[1].area == 200.0 * 100);              // no area field: w x h
  CHECK(d.annotations[2].bbox.h == doctest::Approx(64.4));  // within the 1 px slack of its 64 px image
  REQUIRE(d.categories.size() == 2);
  CHECK(d.categories[1].id == 90);
  CHECK(d.categories[1].name == "ring");
}

TEST_CASE("coco dataset: each kind of bad file is one line naming the file and the entry") {
  test::TempDir dir;
  CHECK(message_of<InputError>([&] {
          load_dataset(dir / "missing.json");
        }).find("missing.json: cannot read: no such file") != std::string::npos);
  auto msg = dataset_error("{\"images\": [\n{\"id\": 1,,}]}");
  CHECK(msg.find("instances.json: malformed COCO JSON") != std::string::npos);
  msg = dataset_error(replace(kValid, "\"image_id\": 9", "\"image_id\": 8"));
  CHECK(msg.find("instances.json: annotation 3: image 8 is not in the file") != std::string::npos);
  msg = dataset_error(replace(kValid, "\"category_id\": 90", "\"category_id\": 91"));
  CHECK(msg.find("annotation 2: category 91 is not in the file") != std::string::npos);
  msg = dataset_error(replace(kValid, "[10, 20.5, 30, 40]", "[10, 20.5, -30, 40]"));
  CHECK(msg.find("annotation 1: bbox [10, 20.5, -30, 40] has a negative size") != std::string::npos);
  msg = dataset_error(replace(kValid, "[10, 20.5, 30, 40]", "[180, 20.5, 30, 40]"));
  CHECK(msg.find("annotation 1: bbox [180, 20.5, 30, 40] is outside image 7 (200x100)") != std::string::npos);
  msg = dataset_error(replace(kValid, "\"id\": 2,", "\"id\": 1,"));
  CHECK(msg.find("annotation id 1 appears twice") != std::string::npos);
  msg = dataset_error(replace(kValid, "\"bbox\": [10, 20.5, 30, 40], ", ""));
  CHECK(msg.find("annotation 1 has no 'bbox'") != std::string::npos);
  msg = dataset_error(replace(kValid, "[10, 20.5, 30, 40]", "[10, 20.5, 30]"));
  CHECK(msg.find("bbox has 3 numbers, not 4") != std::string::npos);
  msg = dataset_error(replace(kValid, "\"file_name\": \"b.png\", ", ""));
  CHECK(msg.find("images[1] has no 'file_name'") != std::string::npos);
  msg = dataset_error("");  // an empty file: found by the fuzzer (the parser had no position to report)
  CHECK(msg.find("instances.json: malformed COCO JSON: ") != std::string::npos);
  msg = dataset_error(
      "{\"images\": [{\"id\": 1, \"file_name\": \"a\", \"width\": 5, \"height\": 5}],\n"
      "\"categories\": [],\n\"annotations\": [{\"id\": 1, \"image_id\": \"x\"}]}");
  CHECK(msg.find("malformed COCO JSON (line 3)") != std::string::npos);
  msg = dataset_error("[1, 2]");
  CHECK(msg.find("malformed COCO JSON") != std::string::npos);
  msg = dataset_error("{\"annotations\": []}");
  CHECK(msg.find("not a COCO annotation file: no 'images' list") != std::string::npos);
}

TEST_CASE("coco dataset: a results file is read for its ground truth, and refused for images it does not have") {
  test::TempDir dir;
  const auto gt = load_dataset(test::write_file(dir / "instances.json", kValid));
  const auto dts =
      load_detections(test::write_file(dir / "results.json",
                                       R"([{"image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.25},
                           {"image_id": 9, "category_id": 5, "bbox": [0, 0, 8, 8], "score": 1, "segmentation": []}])"),
                      gt);
  REQUIRE(dts.size() == 2);
  CHECK(dts[0].bbox.w == 3);
  CHECK(dts[0].score == 0.25);
  CHECK(dts[1].category_id == 5);  // not a ground-truth category: kept here, ignored by the evaluator
  auto bad = [&](const std::string& json) {
    const auto path = test::write_file(dir / "bad.json", json);
    return message_of<InputError>([&] { load_detections(path, gt); });
  };
  CHECK(bad(R"([{"image_id": 8, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}])")
            .find("bad.json: detection [0]: image 8 is not in the ground truth") != std::string::npos);
  CHECK(bad(R"([{"image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4]}])").find("detection [0] has no 'score'") !=
        std::string::npos);
  CHECK(bad(R"([{"image_id": 7, "category_id": 3, "bbox": [1, 2, -3, 4], "score": 1}])").find("negative size") !=
        std::string::npos);
  CHECK(bad(R"({"image_id": 7})").find("bad.json: malformed results JSON") != std::string::npos);
}
