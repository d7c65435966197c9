// A gallery as data (Torch-free): `moexp evaluate --gallery` writes gallery.json beside index.html — for
// classification every expert's top images (inline) and the control, for detection every expert's object histograms
// — so that `moexp report --format html` can line up the galleries of a group's seeds expert by aligned expert without
// Torch, the dataset or the PNG files.
#pragma once

#include "report/detection_gallery.hpp"
#include "report/gallery.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace moexp::report {

// The manifest's name in a gallery folder.
inline constexpr const char* kGalleryManifest = "gallery.json";

// A thumbnail as the manifest keeps it.
struct ManifestImage {
  std::int64_t sample = 0;
  std::string label{};
  double weight = 0;  // the expert's gate weight (0 for control images: theirs differ per expert)
  std::string png_base64{};
};

// What the report shows of one run's gallery, for one MoE layer (detection: one head, in forward order):
// classification's top images per expert and control images, or detection's object histograms per expert.
struct SeedGallery {
  std::string how_chosen{};
  std::int64_t layer = 0;
  std::vector<std::vector<ManifestImage>> top_by_expert{};
  std::vector<ManifestImage> control{};
  std::vector<ExpertObjects> objects_by_expert{};
  std::string head{};  // detection: the head's name
};

// `page` as JSON: its caption and, per layer, each expert's top images and the control, PNGs in base64.
std::string gallery_manifest_json(const GalleryPage& page);

// A detection gallery's manifest: per head, each expert's object histograms.
std::string detection_gallery_manifest_json(const DetectionGalleryPage& page);

// Layer `layer` of the manifest at `path` (either kind). DataError naming the file for one that is missing, not JSON,
// of another format or without that layer.
SeedGallery read_gallery_manifest(const std::filesystem::path& path, std::int64_t layer = 0);

}  // namespace moexp::report
