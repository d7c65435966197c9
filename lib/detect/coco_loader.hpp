// Batches of a COCO-format dataset for detection: images decoded by worker threads (a bounded window of decoded
// images ahead of the consumer, so training does not wait on decoding and memory stays bounded), resized on the
// batch (bilinear, LibTorch interpolate), normalised, padded to a multiple of 32, flipped with their boxes in
// training. Deterministic: the order and flips depend on (seed, epoch) only, never on worker timing.
#pragma once

#include "coco/dataset.hpp"

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace moexp::detect {

// One image's targets, in the coordinates of its (resized, maybe flipped) image in the batch.
struct DetectionTarget {
  std::int64_t image_id = 0;
  torch::Tensor boxes_n4;  // (x1, y1, x2, y2) float of the non-crowd objects
  torch::Tensor labels_n;  // int64 class indices 0..K-1 (DetectionLoader::category_ids() maps them back)
  torch::Tensor areas_n;   // float: each object's `area` in the annotations (original pixels; COCO's size buckets)
  torch::Tensor annotation_ids_n;  // int64: each object's annotation id
  torch::Tensor crowd_boxes_c4;    // crowd regions (ignored in training, kept for evaluation)
  std::int64_t height = 0;         // the resized image before padding
  std::int64_t width = 0;
  double scale_y = 1, scale_x = 1;  // resized / original
  bool flipped = false;
};

struct DetectionBatch {
  torch::Tensor images_bchw;  // float, normalised, zero-padded to a multiple of size_divisor
  std::vector<DetectionTarget> targets;
};

struct DetectionLoaderOptions {
  std::int64_t batch_size = 2;
  std::int64_t fixed_size = 0;  // > 0: every image resized to fixed_size x fixed_size
  std::int64_t min_size = 800;  // else torchvision's rule: shorter side to min_size, longer side at most max_size
  std::int64_t max_size = 1333;
  std::int64_t size_divisor = 32;
  bool train = false;  // shuffle each epoch and flip half the images horizontally
  bool flip = true;    // training: the horizontal flips (false: none)
  std::uint64_t seed = 0;
  int workers = 2;                                    // decoding threads
  int prefetch = 8;                                   // decoded images held ahead of the consumer at most
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet statistics (RGB in [0, 1])
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// torchvision's resize rule for an h x w image: the scale min(min_size / shorter side, max_size / longer side) in
// float32 (as torchvision's GeneralizedRCNNTransform computes it), each side floor(side x scale) in double; returns
// (height, width). The float32 scale matters: a double one gives 607 instead of 608 for ~30 % of COCO's sizes.
std::pair<std::int64_t, std::int64_t> resized_size(std::int64_t h, std::int64_t w, std::int64_t min_size,
                                                   std::int64_t max_size);

class DetectionLoader {
 public:
  // `images` is the folder of the dataset's file names. Boxes with a width or height under 1 pixel are dropped here
  // (dropped_boxes() counts them); images without annotations are kept.
  DetectionLoader(const coco::Dataset& dataset, std::filesystem::path images, DetectionLoaderOptions options);
  ~DetectionLoader();
  DetectionLoader(const DetectionLoader&) = delete;
  DetectionLoader& operator=(const DetectionLoader&) = delete;

  // Start epoch `epoch` (stopping any unfinished one): its image order, shuffled by (seed, epoch) in training.
  void begin_epoch(std::int64_t epoch);
  // Start epoch `epoch` visiting the images in `order` (image indices 0..images()-1 in the dataset's order, each at
  // most once); flips still depend on (seed, epoch, image) only. InputError for an index out of range.
  void begin_epoch(std::int64_t epoch, std::vector<std::size_t> order);

  // The epoch's next batch, or nullopt after its last. DataError naming the file for an image that cannot be decoded
  // or whose decoded size differs from its width and height in the annotations.
  std::optional<DetectionBatch> next();

  std::int64_t images() const;
  std::int64_t dropped_boxes() const;
  const std::vector<std::int64_t>& category_ids() const;  // class index k -> COCO category id

 private:
  struct State;
  std::unique_ptr<State> m;
};

}  // namespace moexp::detect
