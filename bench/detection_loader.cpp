// Bench: detection input throughput (lib/coco decode_image + lib/detect DetectionLoader) on a generated shapes set of
// 400 PNG images, 320 x 320, batches of 8 resized to 512 x 512: images/s with 1 and 2 decoding workers. Reference
// measured in the same run: decoding the same files in one thread with no resizing (the decoder alone).
// Usage: build/bench/moexp_bench_detection_loader [FOLDER]   (generates the set there when it does not exist)
#include "coco/image_decode.hpp"
#include "coco/shapes.hpp"
#include "detect/coco_loader.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

using namespace moexp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  const std::filesystem::path folder = argc > 1 ? argv[1] : "/tmp/moexp-bench-shapes";
  if (!std::filesystem::exists(folder / "annotations/instances_train.json")) {
    coco::ShapesOptions o;
    o.out = folder;
    o.train = 400;
    o.val = 1;
    o.size = 320;
    o.seed = 1;
    coco::generate_shapes(o);
  }
  const auto gt = coco::load_dataset(folder / "annotations/instances_train.json");
  const auto n = static_cast<double>(gt.images.size());
  auto start = std::chrono::steady_clock::now();
  for (const auto& im : gt.images) {
    (void)coco::decode_image(folder / "train" / im.file_name);
  }
  const double decode = seconds_since(start);
  fmt::print("{:<48} {:>10} {:>12}\n", fmt::format("detection input, {} images 320x320 -> 512", gt.images.size()),
             "images/s", "x reference");
  fmt::print("{:<48} {:>10.0f} {:>12.2f}\n", "reference: decode only, 1 thread", n / decode, 1.0);
  for (int workers : {1, 2}) {
    detect::DetectionLoaderOptions o;
    o.batch_size = 8;
    o.fixed_size = 512;
    o.train = true;
    o.workers = workers;
    detect::DetectionLoader loader(gt, folder / "train", o);
    loader.begin_epoch(0);
    start = std::chrono::steady_clock::now();
    std::int64_t images = 0;
    while (auto batch = loader.next()) {
      images += batch->images_bchw.size(0);
    }
    const double s = seconds_since(start);
    fmt::print("{:<48} {:>10.0f} {:>12.2f}\n",
               fmt::format("DetectionLoader, {} worker(s), resize + flip + pad", workers),
               static_cast<double>(images) / s, (static_cast<double>(images) / s) / (n / decode));
  }
  return 0;
}
