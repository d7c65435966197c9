// `moexp evaluate --gallery DIR` for classification runs: each MoE layer's per-expert gallery (report/gallery.hpp)
// from the evaluation's per-sample gate weights and the split's images, written to DIR as index.html with PNG
// thumbnails beside it, or as one self-contained index.html with the thumbnails as data URIs; and gallery.json
// (report/gallery_manifest.hpp), which `moexp report --format html` reads.
#pragma once

#include "data/dataset.hpp"
#include "train/classification_task.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace moexp::train {

struct GalleryOptions {
  std::filesystem::path dir;
  std::int64_t per_expert = 32;  // top images per expert, and control images
  bool inline_images = false;    // one self-contained file
  std::uint64_t seed = 0;        // of the control draw
  std::string title{};           // "run 12: fmnist_importance"
  std::string split = "test";
};

// Write the gallery of `result` (its kept per-sample routing: one entry per MoE layer) over `split_data` of `data`.
// Files are written atomically; returns the page's path.
std::filesystem::path write_gallery(const GalleryOptions& options, const EvalResult& result,
                                    const data::Dataset& split_data, const data::DataSplits& data);

}  // namespace moexp::train
