#include "coco/dataset.hpp"
#include "coco/eval.hpp"
#include "coco/shapes.hpp"

#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

using namespace moexp;
using namespace moexp::coco;

namespace {

ShapesOptions small_set(const std::filesystem::path& out, std::uint64_t seed = 5) {
  ShapesOptions o;
  o.out = out;
  o.train = 40;
  o.val = 12;
  o.size = 160;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("coco shapes: the same seed writes the same files, another seed other ones") {
  test::TempDir dir;
  generate_shapes(small_set(dir / "a"));
  generate_shapes(small_set(dir / "b"));
  generate_shapes(small_set(dir / "c", 6));
  for (const char* file :
       {"annotations/instances_train.json", "annotations/instances_val.json", "train/000007.png", "val/000012.png"}) {
    CHECK(test::read_file(dir / "a" / file) == test::read_file(dir / "b" / file));
  }
  CHECK(test::read_file(dir / "a/annotations/instances_train.json") !=
        test::read_file(dir / "c/annotations/instances_train.json"));
  CHECK(test::file_names(dir.path()) == std::vector<std::string>{"a", "b", "c"});  // no staging folder left
}

TEST_CASE("coco shapes: valid COCO output with every size bucket populated and areas that are drawn pixels") {
  test::TempDir dir;
  const auto summary = generate_shapes(small_set(dir / "s"));
  const auto train = load_dataset(dir / "s/annotations/instances_train.json");
  REQUIRE(train.images.size() == 40);
  CHECK(train.images[0].file_name == "000001.png");
  CHECK(train.categories.size() == 4);
  CHECK(train.categories[1].id == 3);  // non-contiguous ids
  std::array<int, 3> buckets{};
  int crowd = 0;
  for (const auto& a : train.annotations) {
    if (a.iscrowd) {
      ++crowd;
      continue;
    }
    const double box = a.bbox.w * a.bbox.h;
    CHECK(a.area <= box);
    CHECK(a.area >= 0.4 * box);  // a triangle fills half its box, a ring ~55 %
    // Each band keeps a margin from COCO's cut-offs 1024 and 9216.
    CHECK((a.area < 700 || (a.area > 1700 && a.area < 6100) || a.area > 10900));
    ++buckets[a.area < 1024 ? 0 : a.area <= 9216 ? 1 : 2];
  }
  CHECK(train.annotations.front().id == 1);
  CHECK(buckets == summary.train.by_bucket);
  CHECK(crowd == summary.train.crowd);
  const int objects = buckets[0] + buckets[1] + buckets[2];
  CHECK(objects == summary.train.objects);
  for (int b : buckets) {
    CHECK(b >= objects / 10);
  }
  CHECK(summary.train.empty_images < 40);
}

TEST_CASE("coco shapes: contiguous areas fill the margins, so one shape at one box size spans size buckets") {
  test::TempDir dir;
  auto o = small_set(dir / "s");
  o.train = 120;
  o.contiguous_areas = true;
  const auto summary = generate_shapes(o);
  const auto train = load_dataset(dir / "s/annotations/instances_train.json");
  int in_margins = 0;
  // Squares (category 1) whose box side is within 20 % of 96 px: in one pyramid level, on both sides of 96².
  std::array<int, 2> squares_near_cutoff{};
  for (const auto& a : train.annotations) {
    if (a.iscrowd) {
      continue;
    }
    in_margins += (a.area >= 700 && a.area <= 1700) || (a.area >= 6100 && a.area <= 10900) ? 1 : 0;
    if (a.category_id == 1 && a.bbox.w > 80 && a.bbox.w < 115) {
      ++squares_near_cutoff[a.area <= 9216 ? 0 : 1];
    }
  }
  CHECK(in_margins > 0);  // the default bands never draw these areas
  CHECK(squares_near_cutoff[0] > 0);
  CHECK(squares_near_cutoff[1] > 0);
  for (int b : summary.train.by_bucket) {
    CHECK(b > 0);
  }
}

TEST_CASE("coco shapes: with correlation 1 the class is the size band's, the ground truth as detections scores 1") {
  test::TempDir dir;
  auto o = small_set(dir / "s");
  o.size_class_correlation = 1;
  generate_shapes(o);
  const auto val = load_dataset(dir / "s/annotations/instances_val.json");
  std::vector<Detection> dts;
  for (const auto& a : val.annotations) {
    if (a.iscrowd) {
      continue;
    }
    const std::int64_t expected = a.area < 1024 ? 1 : a.area <= 9216 ? 3 : 6;  // square, disc, triangle
    CHECK(a.category_id == expected);
    dts.push_back({a.image_id, a.category_id, a.bbox, 0.9});
  }
  const auto r = evaluate(val, dts);
  CHECK(r.stats[0] == doctest::Approx(1.0));
}

TEST_CASE("coco shapes: draw_shape counts the pixels it sets and boxes them tightly") {
  std::vector<std::uint8_t> rgb(50 * 50 * 3, 0);
  auto s = draw_shape(rgb, 50, 0, 5, 7, 10, {255, 0, 0});
  CHECK(s.pixels == 100);
  CHECK(s.x == 5);
  CHECK(s.y == 7);
  CHECK(s.w == 10);
  CHECK(s.h == 10);
  CHECK(rgb[(7 * 50 + 5) * 3] == 255);
  s = draw_shape(rgb, 50, 1, 20, 20, 20, {0, 255, 0});  // a disc of radius 10: about pi * 100
  CHECK(std::abs(static_cast<double>(s.pixels) - 314.16) < 20);
  CHECK(s.w == 20);
}

TEST_CASE("coco shapes: bad options and an existing folder are refused with nothing written") {
  test::TempDir dir;
  auto o = small_set(dir / "s");
  o.size = 100;
  CHECK(test::message_of<InputError>([&] { generate_shapes(o); }).find("--size 100") != std::string::npos);
  o = small_set(dir / "s");
  o.size_class_correlation = 1.5;
  CHECK_THROWS_AS(generate_shapes(o), InputError);
  test::write_file(dir / "s/keep.txt", "mine");
  CHECK(test::message_of<InputError>([&] { generate_shapes(small_set(dir / "s")); }).find("is not an empty folder") !=
        std::string::npos);
  CHECK(test::file_names(dir / "s") == std::vector<std::string>{"keep.txt"});
  CHECK(test::file_names(dir.path()) == std::vector<std::string>{"s"});
}
