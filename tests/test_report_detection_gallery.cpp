// report/detection_gallery: the token-by-token routing record's CSVs and histograms, the choice of images, the box
// drawing (pixel checks) and the page.
#include "core/text.hpp"
#include "report/detection_gallery.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

using namespace moexp::report;

namespace {

// Two images, two levels, one head of two experts. Image 1 routes level 0 to expert 0 and level 1 to expert 1;
// image 2 routes both levels to expert 1. Object 10 (small, image 1) has positive anchors on level 0, object 11
// (large, image 1) on levels 0 (1 anchor) and 1 (3 anchors), object 20 (image 2) nowhere.
DetectionRoutingRecord planted() {
  DetectionRoutingRecord r;
  r.heads = {"cls_head"};
  r.experts = 2;
  r.levels = 2;
  r.images = {{.image_id = 1, .weights_hle = {{{0.9f, 0.1f}, {0.2f, 0.8f}}}},
              {.image_id = 2, .weights_hle = {{{0.3f, 0.7f}, {0.4f, 0.6f}}}}};
  r.objects = {
      {.image_id = 1, .annotation_id = 10, .label = 0, .area = 100, .box_xywh = {2, 3, 10, 10}, .positives_l = {2, 0}},
      {.image_id = 1,
       .annotation_id = 11,
       .label = 1,
       .area = 120 * 120,
       .box_xywh = {20, 20, 30, 20},
       .positives_l = {1, 3}},
      {.image_id = 2,
       .annotation_id = 20,
       .label = 1,
       .area = 50 * 50,
       .box_xywh = {0, 0, 5, 5},
       .positives_l = {0, 0}}};
  return r;
}

std::array<std::uint8_t, 3> pixel(const RgbImage& image, int x, int y) {
  const auto* p = &image.rgb[static_cast<std::size_t>((y * image.width + x) * 3)];
  return {p[0], p[1], p[2]};
}

}  // namespace

TEST_CASE("detection gallery: an object's level has its most positive anchors, the top expert its largest weight") {
  CHECK(object_level({.positives_l = {2, 0}}) == 0);
  CHECK(object_level({.positives_l = {1, 3}}) == 1);
  CHECK(object_level({.positives_l = {2, 2, 1}}) == 0);  // ties: the lower level
  CHECK(object_level({.positives_l = {0, 0}}) == -1);
  CHECK(top_expert({0.1f, 0.5f, 0.5f}) == 1);  // ties: the lower expert
  CHECK(top_expert({}) == -1);
}

TEST_CASE("detection gallery: COCO size buckets and half-octave size bins") {
  CHECK(size_bucket(1023) == 0);
  CHECK(size_bucket(1024) == 1);
  CHECK(size_bucket(9215) == 1);
  CHECK(size_bucket(9216) == 2);
  CHECK(log_size_bin(0) == 0);
  CHECK(log_size_bin(16 * 16) == 4);  // side 16 px: 2 log2 16 - 4
  CHECK(log_size_bin(23 * 23) == 5);  // [22.6, 32)
  CHECK(log_size_bin(1e9) == kLogSizeBins - 1);
  CHECK(log_size_bin_label(4) == "[16, 23) px");
  CHECK(log_size_bin_label(0) == "< 6 px");
  CHECK(log_size_bin_label(kLogSizeBins - 1) == ">= 724 px");
}

TEST_CASE("detection gallery: routing CSVs have a row per (image, level) and per (object, level) with positives") {
  const auto csvs = detection_routing_csvs(planted(), {"circle", "square \"big\""});
  const auto image_rows = moexp::core::split(csvs.image_levels, '\n');
  REQUIRE(image_rows.size() == 6);  // header, 2 images x 2 levels, the trailing empty piece
  CHECK(image_rows[0] == "image_id,level,pyramid_level,cls_head_weight_0,cls_head_weight_1,cls_head_top_expert");
  CHECK(image_rows[1] == "1,0,P3,0.9,0.1,0");
  CHECK(image_rows[2] == "1,1,P4,0.2,0.8,1");
  CHECK(image_rows[4] == "2,1,P4,0.4,0.6,1");
  const auto object_rows = moexp::core::split(csvs.object_levels, '\n');
  REQUIRE(object_rows.size() == 5);  // header, object 10 on level 0, object 11 on levels 0 and 1; 20 has none
  CHECK(object_rows[0] ==
        "image_id,annotation_id,label,class,bbox_x,bbox_y,bbox_w,bbox_h,area,size,level,pyramid_level,positive_anchors,"
        "cls_head_weight_0,"
        "cls_head_weight_1,cls_head_top_expert");
  CHECK(object_rows[1] == "1,10,0,\"circle\",2,3,10,10,100,small,0,P3,2,0.9,0.1,0");
  CHECK(object_rows[2] == "1,11,1,\"square \"\"big\"\"\",20,20,30,20,14400,large,0,P3,1,0.9,0.1,0");
  CHECK(object_rows[3] == "1,11,1,\"square \"\"big\"\"\",20,20,30,20,14400,large,1,P4,3,0.2,0.8,1");
  auto orphan = planted();
  orphan.objects.push_back({.image_id = 9, .annotation_id = 90, .positives_l = {1, 0}});
  CHECK_THROWS_AS(detection_routing_csvs(orphan, {}), std::invalid_argument);
}

TEST_CASE("detection gallery: each expert's histograms count the (object, level) tokens it is top expert of") {
  const auto h = expert_object_histograms(planted());
  REQUIRE(h.size() == 1);
  REQUIRE(h[0].size() == 2);
  // Expert 0: object 10 on level 0 (small) and object 11 on level 0 (large). Expert 1: object 11 on level 1.
  CHECK(h[0][0].tokens == 2);
  CHECK(h[0][0].sizes == std::array<std::int64_t, 3>{1, 0, 1});
  CHECK(h[0][0].levels == std::vector<std::int64_t>{2, 0});
  CHECK(h[0][0].log_sizes[static_cast<std::size_t>(log_size_bin(100))] == 1);
  CHECK(h[0][1].tokens == 1);
  CHECK(h[0][1].sizes == std::array<std::int64_t, 3>{0, 0, 1});
  CHECK(h[0][1].levels == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("detection gallery: images are a seeded draw without repeats, or the ones asked for, in their order") {
  DetectionRoutingRecord r;
  for (std::int64_t id = 100; id < 130; ++id) {
    r.images.push_back({.image_id = id, .weights_hle = {}});
  }
  const auto a = choose_detection_images(r, 8, 7, {});
  CHECK(a == choose_detection_images(r, 8, 7, {}));
  CHECK(a != choose_detection_images(r, 8, 8, {}));
  CHECK(std::set<std::int64_t>(a.begin(), a.end()).size() == 8);
  CHECK(std::all_of(a.begin(), a.end(), [](auto id) { return id >= 100 && id < 130; }));
  CHECK(choose_detection_images(r, 100, 7, {}).size() == 30);
  CHECK(choose_detection_images(r, 8, 7, {120, 101}) == std::vector<std::int64_t>{120, 101});
  CHECK_THROWS_WITH_AS(choose_detection_images(r, 8, 7, {101, 5}), "image 5 is not in the evaluated split",
                       std::invalid_argument);
}

TEST_CASE("detection gallery: a box is drawn on its edges, inside the box, clipped, dashed when asked") {
  RgbImage image{.width = 40, .height = 30, .rgb = std::vector<std::uint8_t>(40 * 30 * 3, 0)};
  const auto red = expert_colour(3);
  draw_box(image, {5, 4, 20, 10}, red, 2, false);  // pixels x 5..24, y 4..13
  CHECK(pixel(image, 5, 4) == red);
  CHECK(pixel(image, 24, 13) == red);
  CHECK(pixel(image, 6, 9) == red);                                   // second ring
  CHECK(pixel(image, 7, 9) == std::array<std::uint8_t, 3>{0, 0, 0});  // inside
  CHECK(pixel(image, 4, 4) == std::array<std::uint8_t, 3>{0, 0, 0});  // outside
  CHECK(pixel(image, 25, 13) == std::array<std::uint8_t, 3>{0, 0, 0});
  CHECK(pixel(image, 15, 14) == std::array<std::uint8_t, 3>{0, 0, 0});
  RgbImage dashed{.width = 40, .height = 30, .rgb = std::vector<std::uint8_t>(40 * 30 * 3, 0)};
  draw_box(dashed, {0, 0, 20, 10}, red, 1, true);
  CHECK(pixel(dashed, 3, 0) == red);
  CHECK(pixel(dashed, 4, 0) == std::array<std::uint8_t, 3>{0, 0, 0});  // 4 on, 3 off
  CHECK(pixel(dashed, 7, 0) == red);
  draw_box(dashed, {30, 20, 50, 50}, red, 2, false);  // past the image: clipped, no write outside
  CHECK(pixel(dashed, 30, 29) == red);
  CHECK(dashed.rgb.size() == 40 * 30 * 3);
  CHECK(expert_colour(-1) == kUnroutedColour);
  std::set<std::array<std::uint8_t, 3>> colours;
  for (int e = 0; e < 20; ++e) {
    colours.insert(expert_colour(e));
  }
  CHECK(colours.size() == 20);
  CHECK(colours.count(kUnroutedColour) == 0);
}

TEST_CASE("detection gallery: shrinking averages blocks") {
  RgbImage image{.width = 4, .height = 2, .rgb = {}};
  for (int i = 0; i < 8; ++i) {
    image.rgb.insert(image.rgb.end(), {static_cast<std::uint8_t>(i * 10), 0, 255});
  }
  const auto half = shrink_image(image, 2);
  REQUIRE(half.width == 2);
  REQUIRE(half.height == 1);
  CHECK(pixel(half, 0, 0) == std::array<std::uint8_t, 3>{25, 0, 255});  // (0 + 10 + 40 + 50) / 4
  CHECK(pixel(half, 1, 0) == std::array<std::uint8_t, 3>{45, 0, 255});
  CHECK(shrink_image(image, 1).rgb == image.rgb);
}

TEST_CASE("detection gallery: the page has a legend, the images, captions as text and the histograms") {
  DetectionGalleryPage page;
  page.title = "run 3: <shapes>";
  page.how_chosen = "two images";
  page.experts = 2;
  page.levels = 2;
  page.heads.push_back(
      {.name = "box_head",
       .images = {{.image_id = 7, .png = "PNGBYTES", .file = "box_head_image7.png", .caption = "image 7 (a&b.png)"}},
       .experts = expert_object_histograms(planted())[0]});
  const auto files = detection_gallery_html(page, false);
  CHECK(files.find("<title>run 3: &lt;shapes&gt;</title>") != std::string::npos);
  CHECK(files.find("<h2>MoE box_head</h2>") != std::string::npos);
  CHECK(files.find("expert 1") != std::string::npos);
  CHECK(files.find("src=\"box_head_image7.png\"") != std::string::npos);
  CHECK(files.find("image 7 (a&amp;b.png)") != std::string::npos);
  CHECK(files.find("<td>P4</td><td class=\"n\">1</td>") != std::string::npos);
  CHECK(files.find("<td>large</td><td class=\"n\">1</td>") != std::string::npos);
  const auto inlined = detection_gallery_html(page, true);
  CHECK(inlined.find("src=\"data:image/png;base64,UE5HQllURVM=\"") != std::string::npos);
  CHECK(inlined.find("box_head_image7.png") == std::string::npos);
}
