// `moexp data shapes`: a generated COCO-format detection set of simple shapes (squares, discs, triangles, rings) in
// random colours on textured backgrounds, for tests, the demo and CPU experiments. Synthetic data: see
// docs/detection.md. Deterministic for a seed on every platform (core::Random). Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::coco {

struct ShapesOptions {
  std::filesystem::path out;  // created; must not exist or be empty
  int train = 200;            // images per split
  int val = 50;
  int size = 192;  // square images of size x size pixels (>= 160)
  std::uint64_t seed = 0;
  double size_class_correlation = 0;  // probability that an object's class is its size band's (0: independent)
  // Areas drawn from bands that meet at COCO's cut-offs (160-1024, 1024-9216, 9216-) instead of bands kept apart
  // from them: objects of one box size and one shape then fall in different size buckets, so that a size effect
  // can be told from a pyramid level (assigned by box size) and a class (which sets the box's fill).
  bool contiguous_areas = false;
};

// What one split holds.
struct ShapesSplitSummary {
  int images = 0;
  int empty_images = 0;  // without any object
  int objects = 0;       // not counting crowd regions
  int crowd = 0;
  std::array<int, 3> by_bucket{};  // objects with area < 32², in [32², 96²], > 96² (COCO small / medium / large)
};

struct ShapesSummary {
  ShapesSplitSummary train, val;
};

// The shapes' categories, with non-contiguous ids as in real COCO files.
struct ShapeCategory {
  std::int64_t id;
  const char* name;
};
inline constexpr std::array<ShapeCategory, 4> kShapeCategories{
    {{1, "square"}, {3, "disc"}, {6, "triangle"}, {9, "ring"}}};

// Write OUT/{train,val}/NNNNNN.png and OUT/annotations/instances_{train,val}.json, built in a sibling folder and
// renamed into place (a failure leaves nothing). InputError for bad options or an OUT that exists and is not empty.
ShapesSummary generate_shapes(const ShapesOptions& options);

// One drawn object: its class, tight box of drawn pixels and their count.
struct DrawnShape {
  int category = 0;  // index into kShapeCategories
  int x = 0, y = 0, w = 0, h = 0;
  std::int64_t pixels = 0;
};

// Draw shape `category` (index into kShapeCategories) filling the box (x, y, side, side) of an RGB image of
// `size` x `size` (rgb: size * size * 3 bytes) in `colour`; returns the tight box of the pixels it set and their count.
DrawnShape draw_shape(std::vector<std::uint8_t>& rgb, int size, int category, int x, int y, int side,
                      const std::array<std::uint8_t, 3>& colour);

}  // namespace moexp::coco
