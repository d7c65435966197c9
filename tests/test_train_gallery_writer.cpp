// train/gallery_writer: a planted routing (class c's images weighted towards expert c) through the writer: each
// expert's thumbnails are its planted class's images, pixel for pixel, the control is the same for every expert, and
// the manifest the report reads says the same.
#include "coco/image_decode.hpp"
#include "report/gallery_manifest.hpp"
#include "testutil.hpp"
#include "train/gallery_writer.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("gallery writer: a planted routing's top images are the planted class's, pixel for pixel") {
  // 30 grey 6x6 images of 3 classes (sample i has class i % 3 and every pixel 8 * i); sample i weighs 0.6 + i / 100
  // on expert i % 3 and shares the rest.
  constexpr std::int64_t kSamples = 30, kClasses = 3;
  data::DataSplits data;
  data.class_names = {"zero", "one", "two"};
  data.superclass_names = {"all"};
  data::Dataset split;
  split.images_nchw = (torch::arange(kSamples, torch::kLong) * 8).view({kSamples, 1, 1, 1}).expand({kSamples, 1, 6, 6});
  split.images_nchw = split.images_nchw.to(torch::kUInt8).contiguous();
  split.labels_n = torch::arange(kSamples, torch::kLong) % kClasses;
  split.coarse_n = torch::zeros({kSamples}, torch::kLong);
  auto weights_ne = torch::zeros({kSamples, kClasses});
  for (std::int64_t i = 0; i < kSamples; ++i) {
    const float own = 0.6F + static_cast<float>(i) / 100.0F;
    weights_ne[i].fill_((1 - own) / 2);
    weights_ne[i][i % kClasses] = own;
  }
  train::EvalResult result;
  result.per_sample.push_back(
      {torch::zeros({kSamples, kClasses}), weights_ne, torch::zeros({kSamples, 2}, torch::kLong)});
  test::TempDir dir;
  const auto page =
      train::write_gallery({.dir = dir / "g", .per_expert = 4, .seed = 3, .title = "planted"}, result, split, data);
  CHECK(page == dir / "g/index.html");
  for (std::int64_t e = 0; e < kClasses; ++e) {
    for (int r = 0; r < 4; ++r) {
      // Expert e's r-th image: the class-e sample of the r-th largest weight, 27 + e - 3 r.
      const auto sample = 27 + e - 3 * r;
      const auto image = coco::decode_image(dir / fmt::format("g/layer0_expert{}_top{:02d}.png", e, r));
      REQUIRE(image.width == 6);
      CHECK(image.rgb.at(0) == 8 * sample);
      CHECK(image.rgb.at(image.rgb.size() - 1) == 8 * sample);
    }
  }
  const auto manifest = report::read_gallery_manifest(dir / "g/gallery.json");
  REQUIRE(manifest.top_by_expert.size() == 3);
  for (std::int64_t e = 0; e < kClasses; ++e) {
    for (const auto& image : manifest.top_by_expert[static_cast<std::size_t>(e)]) {
      CHECK(image.sample % kClasses == e);
      CHECK(image.label == data.class_names[static_cast<std::size_t>(e)] + " (all)");
    }
  }
  CHECK(manifest.control.size() == 4);
  const auto html = test::read_file(page);
  CHECK(html.find("<h1>planted</h1>") != std::string::npos);
  CHECK(html.find("zero × 4") != std::string::npos);  // expert 0's class histogram
}
