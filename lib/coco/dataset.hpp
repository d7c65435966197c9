// COCO instances format (images, annotations, categories) and the official detection results format, read with
// simdjson's on-demand parser (segmentation and every other field a detector does not need are skipped unread).
// Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::coco {

// A box in COCO's pixel convention: top-left corner, width, height.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

struct Image {
  std::int64_t id = 0;
  std::string file_name;
  std::int64_t width = 0;
  std::int64_t height = 0;
};

struct Annotation {
  std::int64_t id = 0;
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  Box bbox;
  double area = 0;  // the file's `area` (the mask area in real COCO); w * h when the file has none
  bool iscrowd = false;
};

struct Category {
  std::int64_t id = 0;
  std::string name;
};

// One annotation file. Ids are the file's own (category ids need not be contiguous).
struct Dataset {
  std::vector<Image> images;
  std::vector<Annotation> annotations;
  std::vector<Category> categories;
};

// One detection of a results file.
struct Detection {
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  Box bbox;
  double score = 0;
};

// Tolerance, in pixels, for a ground-truth box reaching past its image (float rounding in the tools that wrote it).
inline constexpr double kBoxSlackPx = 1.0;

// Read and check annotation file `path`. InputError (one line naming the file, and the annotation or image id) for a
// missing or malformed file, a missing required field, duplicate image / annotation / category ids, an annotation
// whose image or category is not in the file, a box with negative size or outside its image.
Dataset load_dataset(const std::filesystem::path& path);

// The same checks on the text of an annotation file; errors name `name` for the file.
Dataset parse_dataset(std::string_view text, const std::string& name);

// Read results file `path` (a list of {image_id, category_id, bbox, score}) for `gt`. InputError (naming the file
// and the entry's index) for a malformed file, a missing field, a negative box size, a non-finite score, or an image
// that `gt` does not have (as pycocotools refuses them). Detections of categories `gt` does not list are kept here;
// the evaluator ignores them.
std::vector<Detection> load_detections(const std::filesystem::path& path, const Dataset& gt);

// The same on the text of a results file; errors name `name` for the file.
std::vector<Detection> parse_detections(std::string_view text, const std::string& name, const Dataset& gt);

}  // namespace moexp::coco
