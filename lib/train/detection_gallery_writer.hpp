// `moexp evaluate --gallery DIR` and `--dump-routing PATH` for detection runs, from the evaluation's token-by-token
// routing record: the gallery (report/detection_gallery.hpp) of validation images with boxes coloured by expert and
// each expert's object histograms, written to DIR as index.html with PNGs beside it or as one self-contained file,
// with gallery.json (report/gallery_manifest.hpp: the histograms, which `moexp report --format html` lines up); and
// the routing CSVs, PATH (one row per image and level) and objects_csv_path(PATH) (one per object and level).
#pragma once

#include "report/detection_gallery.hpp"
#include "train/detection_task.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::train {

struct DetectionGalleryOptions {
  std::filesystem::path dir;
  std::int64_t images = 12;               // images drawn at random when `image_ids` is empty
  std::vector<std::int64_t> image_ids{};  // the images to show, in this order
  bool inline_images = false;
  std::uint64_t seed = 0;  // of the random draw
  std::string title{};
};

// The longest side of a gallery image; larger images are reduced by an integer factor.
inline constexpr int kGalleryMaxSide = 320;

// Write the gallery; InputError for a requested image the split lacks. Files are written atomically; returns the
// page's path.
std::filesystem::path write_detection_gallery(const DetectionGalleryOptions& options,
                                              const report::DetectionRoutingRecord& record, const DetectionData& data);

// The object rows' file beside `path`: routing.csv -> routing.objects.csv.
std::filesystem::path objects_csv_path(const std::filesystem::path& path);

// Write the two routing CSVs (atomically).
void write_detection_routing_csvs(const std::filesystem::path& path, const report::DetectionRoutingRecord& record,
                                  const std::vector<std::string>& class_names);

}  // namespace moexp::train
