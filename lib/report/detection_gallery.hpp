// What detection's MoE heads did on an evaluation, token by token (Torch-free): the record `moexp evaluate` keeps for
// --dump-routing and --gallery, its two CSV documents, each expert's size and level histograms over the objects
// routed to it, and the gallery page: validation images with their ground-truth and detected boxes coloured by the
// expert that the object's (image, level) token was routed to, beside a legend and the histograms.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace moexp::report {

// One validation image's gate weights: per MoE head, per pyramid level (P3 first), per expert.
struct RoutedImage {
  std::int64_t image_id = 0;
  std::vector<std::vector<std::vector<float>>> weights_hle{};
};

// A ground-truth object (non-crowd) and how many positive anchors it has on each level.
struct RoutedObject {
  std::int64_t image_id = 0;
  std::int64_t annotation_id = 0;
  std::int64_t label = 0;            // contiguous class index
  double area = 0;                   // the annotation's area (COCO's size buckets)
  std::array<double, 4> box_xywh{};  // original pixels
  std::vector<std::int64_t> positives_l{};
};

// A detection of the trained setting, with the pyramid level of the anchor it came from.
struct RoutedDetection {
  std::int64_t image_id = 0;
  std::int64_t label = 0;
  std::int64_t level = 0;
  double score = 0;
  std::array<double, 4> box_xywh{};  // original pixels
};

// An evaluation's routing, kept token by token.
struct DetectionRoutingRecord {
  std::vector<std::string> heads{};  // "cls_head", "box_head": the MoE heads in forward order
  std::int64_t experts = 0;
  std::int64_t levels = 0;
  std::vector<RoutedImage> images{};  // in evaluation order
  std::vector<RoutedObject> objects{};
  std::vector<RoutedDetection> detections{};
};

// The level on which `object` has the most positive anchors (ties: the lower level); -1 when it has none.
std::int64_t object_level(const RoutedObject& object);

// The expert of largest weight in `weights_e` (ties: the lower index).
std::int64_t top_expert(const std::vector<float>& weights_e);

// COCO's size bucket of an area: 0 small (< 32²), 1 medium (< 96²), 2 large.
std::int64_t size_bucket(double area);

// The finer size histogram's bins: half-octaves of sqrt(area) from 4 px (bin 0: below 5.66 px) to 1024 px (the last
// bin: 724 px and above).
inline constexpr std::int64_t kLogSizeBins = 16;
std::int64_t log_size_bin(double area);
std::string log_size_bin_label(std::int64_t bin);  // "[16, 23) px"

// --dump-routing of a detection run: `image_levels` has one row per (image, level) with each head's weights and top
// expert; `object_levels` one row per (object, level) for every level with positive anchors for the object, with
// its class, box (x, y, w, h in original pixels), area, size bucket, positive anchors and that (image, level) token's
// weights and top expert.
struct RoutingCsvs {
  std::string image_levels;
  std::string object_levels;
};
RoutingCsvs detection_routing_csvs(const DetectionRoutingRecord& record, const std::vector<std::string>& class_names);

// The objects a head's expert is the top expert for, counted over (object, level) tokens.
struct ExpertObjects {
  std::int64_t tokens = 0;
  std::array<std::int64_t, 3> sizes{};  // COCO buckets
  std::vector<std::int64_t> levels{};
  std::vector<std::int64_t> log_sizes{};  // kLogSizeBins bins
};

// Per head, per expert: its (object, level) tokens by size bucket, level and log size.
std::vector<std::vector<ExpertObjects>> expert_object_histograms(const DetectionRoutingRecord& record);

// The gallery's images: `requested` (image ids, in that order; std::invalid_argument naming one the record lacks)
// or, when empty, `count` images drawn without replacement from core::Random(`seed`) in draw order.
std::vector<std::int64_t> choose_detection_images(const DetectionRoutingRecord& record, std::int64_t count,
                                                  std::uint64_t seed, const std::vector<std::int64_t>& requested);

// An RGB image in memory (height x width x 3, row-major).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb{};
};

// Expert e's colour (a fixed, distinguishable palette; grey, kUnroutedColour, for objects without positive anchors).
std::array<std::uint8_t, 3> expert_colour(std::int64_t expert);
inline constexpr std::array<std::uint8_t, 3> kUnroutedColour{128, 128, 128};

// `image` reduced by an integer `factor` (each output pixel the mean of a factor x factor block; 1: unchanged).
RgbImage shrink_image(const RgbImage& image, int factor);

// Draw the outline of `box_xywh` (pixels of `image`) `thickness` pixels wide, inside the box, clipped to the image;
// `dashed`: 4 pixels on, 3 off along each side.
void draw_box(RgbImage& image, const std::array<double, 4>& box_xywh, const std::array<std::uint8_t, 3>& colour,
              int thickness, bool dashed);

// Minimum score of the detections a gallery draws.
inline constexpr double kGalleryScoreThreshold = 0.3;

// One expert's histograms as an HTML block (tables with CSS bars in expert `expert`'s colour) headed `heading`.
std::string expert_objects_html(const ExpertObjects& counts, std::int64_t expert, const std::string& heading);

// One head's view of one image: the image with its boxes drawn, and what the caption says.
struct DetectionGalleryImage {
  std::int64_t image_id = 0;
  std::string png{};
  std::string file{};
  std::string caption{};
};

struct DetectionGalleryHead {
  std::string name{};  // "cls_head"
  std::vector<DetectionGalleryImage> images{};
  std::vector<ExpertObjects> experts{};
};

struct DetectionGalleryPage {
  std::string title{};
  std::string how_chosen{};
  std::int64_t experts = 0;
  std::int64_t levels = 0;
  std::vector<DetectionGalleryHead> heads{};
};

// The page as one HTML document: per head a legend of expert colours, the images, and per expert a table of its
// objects by size bucket, level and log size (text and CSS bars). `inline_images`: thumbnails as data URIs.
std::string detection_gallery_html(const DetectionGalleryPage& page, bool inline_images);

}  // namespace moexp::report
