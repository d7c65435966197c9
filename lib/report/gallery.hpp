// Galleries of what each expert sees (Torch-free): for every MoE layer and expert, the images with the largest gate
// weight for that expert beside a control of images drawn at random from the same split, each with its label and
// weight, and the class histogram of the expert's top images. The choice is deterministic for a seed; the page says
// how the images were chosen. `moexp evaluate --gallery` gathers the weights and thumbnails and calls these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::report {

// The images of one layer's gallery, as sample indices of the split.
struct GalleryChoice {
  std::vector<std::vector<std::int64_t>> top;  // per expert: `per_expert` samples, largest weight first
  std::vector<std::int64_t> control;           // `per_expert` distinct samples drawn at random, in draw order
};

// For `samples` x `experts` gate weights `weights_ne` (row-major): each expert's `per_expert` samples of largest
// weight (ties: the lower index first) and a control drawn without replacement from core::Random(`seed`), the same
// for every expert. Fewer when the split has fewer samples. Throws std::invalid_argument when the sizes disagree.
GalleryChoice choose_gallery(const std::vector<float>& weights_ne, std::int64_t experts, std::int64_t per_expert,
                             std::uint64_t seed);

// `n` distinct indices of 0..population-1 (all when n >= population) drawn uniformly from core::Random(`seed`), in
// draw order: the first n steps of a Fisher-Yates shuffle.
std::vector<std::int64_t> draw_without_replacement(std::int64_t population, std::int64_t n, std::uint64_t seed);

// Per expert: how many of its top samples have each of `classes` classes, from each sample's class `labels`.
std::vector<std::vector<std::int64_t>> top_class_histograms(const GalleryChoice& choice,
                                                            const std::vector<std::int64_t>& labels,
                                                            std::int64_t classes);

// One thumbnail: its PNG bytes, the file it is written to (relative to the page), and what the caption says.
struct GalleryImage {
  std::int64_t sample = 0;
  std::string png{};
  std::string file{};
  std::string label{};  // "sandal (footwear)"
  double weight = 0;    // the expert's gate weight for this sample
};

struct GalleryExpert {
  std::vector<GalleryImage> top{}, control{};
  std::vector<std::int64_t> histogram{};  // per class: top images of that class
};

struct GalleryLayer {
  int layer = 0;     // the MoE layer (0-based, forward order)
  int position = 0;  // the network position it replaces
  std::vector<GalleryExpert> experts{};
};

struct GalleryPage {
  std::string title{};       // "run 12: fmnist_importance"
  std::string how_chosen{};  // the caption's account of the choice (split, N, seed)
  std::vector<std::string> class_names{};
  std::vector<GalleryLayer> layers{};
};

// The page as one HTML document: per layer a table with a row per expert (its top images, its class histogram, its
// control images), labels and weights as text. `inline_images`: thumbnails as data URIs (one self-contained file);
// otherwise `<img src>` names each image's `file`.
std::string gallery_html(const GalleryPage& page, bool inline_images);

}  // namespace moexp::report
