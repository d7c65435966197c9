#include "coco/shapes.hpp"
#include "core/error.hpp"
#include "detect/coco_loader.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>

using namespace moexp;
using namespace moexp::detect;

namespace {

// A generated shapes set of `train` 160 x 160 training images under `dir`; its annotations.
coco::Dataset shapes(const test::TempDir& dir, int train = 10) {
  coco::ShapesOptions o;
  o.out = dir / "s";
  o.train = train;
  o.val = 1;
  o.size = 160;
  o.seed = 4;
  coco::generate_shapes(o);
  return coco::load_dataset(dir / "s/annotations/instances_train.json");
}

// Every batch of epoch `epoch`.
std::vector<DetectionBatch> epoch_of(DetectionLoader& loader, std::int64_t epoch) {
  loader.begin_epoch(epoch);
  std::vector<DetectionBatch> out;
  while (auto b = loader.next()) {
    out.push_back(std::move(*b));
  }
  return out;
}

}  // namespace

TEST_CASE("detect loader: each image once per epoch, padded to 32, with its boxes scaled and labels contiguous") {
  test::TempDir dir;
  const auto gt = shapes(dir);
  DetectionLoaderOptions o;
  o.batch_size = 3;
  o.fixed_size = 128;  // 160 -> 128: boxes x 0.8
  DetectionLoader loader(gt, dir / "s/train", o);
  CHECK(loader.category_ids() == std::vector<std::int64_t>{1, 3, 6, 9});
  const auto batches = epoch_of(loader, 0);
  REQUIRE(batches.size() == 4);  // 3 + 3 + 3 + 1
  CHECK(batches[0].images_bchw.sizes() == torch::IntArrayRef({3, 3, 128, 128}));
  CHECK(batches[3].images_bchw.size(0) == 1);
  std::set<std::int64_t> seen;
  for (const auto& b : batches) {
    for (const auto& t : b.targets) {
      CHECK(seen.insert(t.image_id).second);
      CHECK(t.scale_x == doctest::Approx(0.8));
      // The first non-crowd annotation of this image, scaled.
      for (const auto& a : gt.annotations) {
        if (a.image_id == t.image_id && !a.iscrowd) {
          REQUIRE(t.boxes_n4.size(0) > 0);
          CHECK(t.boxes_n4[0][0].item<double>() == doctest::Approx(a.bbox.x * 0.8).epsilon(1e-4));
          CHECK(t.boxes_n4[0][3].item<double>() == doctest::Approx((a.bbox.y + a.bbox.h) * 0.8).epsilon(1e-4));
          break;
        }
      }
      if (t.labels_n.numel() > 0) {
        CHECK(t.labels_n.min().item<std::int64_t>() >= 0);
        CHECK(t.labels_n.max().item<std::int64_t>() <= 3);
      }
    }
  }
  CHECK(seen.size() == 10);
}

TEST_CASE("detect loader: torchvision's min/max resize, and padding to a multiple of 32") {
  test::TempDir dir;
  const auto gt = shapes(dir, 2);
  DetectionLoaderOptions o;
  o.batch_size = 2;
  o.min_size = 200;  // 160 -> 200 (the longer side stays under 1333)
  DetectionLoader loader(gt, dir / "s/train", o);
  const auto batches = epoch_of(loader, 0);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].targets[0].height == 200);
  CHECK(batches[0].images_bchw.sizes() == torch::IntArrayRef({2, 3, 224, 224}));
  // The padding is zeros; the image is normalised (about zero mean, not all zero).
  CHECK(batches[0].images_bchw.narrow(2, 200, 24).abs().sum().item<double>() == 0);
  CHECK(batches[0].images_bchw.narrow(2, 0, 200).abs().sum().item<double>() > 0);
}

TEST_CASE("detect loader: training order and flips depend on (seed, epoch) only, not on the workers") {
  test::TempDir dir;
  const auto gt = shapes(dir);
  DetectionLoaderOptions o;
  o.batch_size = 4;
  o.fixed_size = 96;
  o.train = true;
  o.seed = 9;
  o.workers = 1;
  DetectionLoader one(gt, dir / "s/train", o);
  o.workers = 3;
  o.prefetch = 2;
  DetectionLoader three(gt, dir / "s/train", o);
  const auto a = epoch_of(one, 1);
  const auto b = epoch_of(three, 1);
  REQUIRE(a.size() == b.size());
  int flipped = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(torch::equal(a[i].images_bchw, b[i].images_bchw));
    for (std::size_t j = 0; j < a[i].targets.size(); ++j) {
      CHECK(a[i].targets[j].image_id == b[i].targets[j].image_id);
      CHECK(torch::equal(a[i].targets[j].boxes_n4, b[i].targets[j].boxes_n4));
      flipped += a[i].targets[j].flipped;
    }
  }
  CHECK(flipped > 0);
  CHECK(flipped < 10);
  const auto other_epoch = epoch_of(one, 2);
  std::vector<std::int64_t> order1, order2;
  for (const auto& x : a) {
    for (const auto& t : x.targets)
      order1.push_back(t.image_id);
  }
  for (const auto& x : other_epoch) {
    for (const auto& t : x.targets)
      order2.push_back(t.image_id);
  }
  CHECK(order1 != order2);
}

TEST_CASE("detect loader: a flipped image's boxes are mirrored with it") {
  test::TempDir dir;
  const auto gt = shapes(dir);
  DetectionLoaderOptions plain;
  plain.batch_size = 10;
  plain.fixed_size = 160;
  DetectionLoaderOptions train = plain;
  train.train = true;
  DetectionLoader a(gt, dir / "s/train", plain);
  DetectionLoader b(gt, dir / "s/train", train);
  const auto pa = epoch_of(a, 0)[0];
  const auto pb = epoch_of(b, 0)[0];
  bool checked = false;
  for (const auto& tb : pb.targets) {
    if (!tb.flipped || tb.boxes_n4.size(0) == 0) {
      continue;
    }
    for (std::size_t i = 0; i < pa.targets.size(); ++i) {
      const auto& ta = pa.targets[i];
      if (ta.image_id != tb.image_id) {
        continue;
      }
      // x1' = W - x2, x2' = W - x1; y unchanged; and the pixels are mirrored.
      CHECK(tb.boxes_n4[0][0].item<double>() == doctest::Approx(160 - ta.boxes_n4[0][2].item<double>()));
      CHECK(tb.boxes_n4[0][2].item<double>() == doctest::Approx(160 - ta.boxes_n4[0][0].item<double>()));
      CHECK(tb.boxes_n4[0][1].item<double>() == ta.boxes_n4[0][1].item<double>());
      const auto j =
          std::find_if(pb.targets.begin(), pb.targets.end(), [&](const auto& t) { return t.image_id == tb.image_id; }) -
          pb.targets.begin();
      CHECK(torch::equal(pb.images_bchw[j], pa.images_bchw[static_cast<std::int64_t>(i)].flip({2})));
      checked = true;
    }
  }
  CHECK(checked);
}

TEST_CASE("detect loader: tiny boxes are dropped and counted, crowd regions kept apart, bad images fail the batch") {
  test::TempDir dir;
  auto gt = shapes(dir, 3);
  gt.annotations.push_back({9001, 1, 1, {10, 10, 0.5, 20}, 10, false});  // narrower than a pixel
  gt.annotations.push_back({9002, 1, 3, {50, 50, 30, 30}, 900, true});
  DetectionLoaderOptions o;
  o.batch_size = 3;
  o.fixed_size = 160;
  {
    DetectionLoader loader(gt, dir / "s/train", o);
    CHECK(loader.dropped_boxes() == 1);
    const auto batches = epoch_of(loader, 0);
    CHECK(batches[0].targets[0].crowd_boxes_c4.size(0) >= 1);
  }
  test::write_file(dir / "s/train/000002.png", "not an image");
  DetectionLoader broken(gt, dir / "s/train", o);
  broken.begin_epoch(0);
  CHECK(test::message_of<DataError>([&] { broken.next(); }).find("000002.png: not a JPEG or PNG image") !=
        std::string::npos);
  gt.images[0].width = 161;  // annotations that disagree with the file
  DetectionLoader mismatch(gt, dir / "s/train", o);
  mismatch.begin_epoch(0);
  CHECK(test::message_of<DataError>([&] {
          mismatch.next();
        }).find("decoded 160x160, but the annotations of image 1 say 161x160") != std::string::npos);
}

TEST_CASE("detection loader: the resize rule is torchvision's, its scale in float32") {
  // torchvision's GeneralizedRCNNTransform computes min(800 / shorter, 1333 / longer) as a float32 tensor and
  // interpolates to floor(side x scale): 480 x 640 becomes 799 x 1066 (a double scale would give 800).
  CHECK(resized_size(480, 640, 800, 1333) == std::pair<std::int64_t, std::int64_t>{799, 1066});
  CHECK(resized_size(640, 480, 800, 1333) == std::pair<std::int64_t, std::int64_t>{1066, 799});
  CHECK(resized_size(333, 500, 800, 1333) == std::pair<std::int64_t, std::int64_t>{799, 1201});
  CHECK(resized_size(427, 640, 800, 1333) == std::pair<std::int64_t, std::int64_t>{800, 1199});
  CHECK(resized_size(612, 612, 800, 1333) == std::pair<std::int64_t, std::int64_t>{800, 800});
  CHECK(resized_size(480, 640, 608, 1024) == std::pair<std::int64_t, std::int64_t>{607, 810});
  CHECK(resized_size(200, 1000, 800, 1333) ==
        std::pair<std::int64_t, std::int64_t>{266, 1332});  // capped by 1333 / 1000
}
