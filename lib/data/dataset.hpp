// In-memory image datasets (uint8) and the loader that picks the right reader for a DataConfig.
// Shapes: N samples, C channels, H×W spatial.
#pragma once

#include "config/experiment.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::data {

struct Dataset {
  torch::Tensor images_nchw;  // uint8
  torch::Tensor labels_n;     // int64 class labels
  torch::Tensor coarse_n;     // int64 superclass labels
  std::int64_t size() const { return labels_n.size(0); }
};

struct DataSplits {
  std::string name;  // dataset key, e.g. "fashion_mnist"
  Dataset train;
  Dataset test;
  std::int64_t channels = 1;
  std::int64_t num_classes = 10;
  std::vector<std::string> class_names;
  std::vector<std::string> superclass_names;
  std::vector<std::int64_t> superclass_of;  // class -> superclass
  std::vector<double> mean;                 // per-channel normalisation
  std::vector<double> std;
  bool flip = true;     // horizontal flip is a valid augmentation (not for digits)
  bool jitter = false;  // colour jitter (CIFAR)
};

// Load both splits of `cfg.dataset` into memory, truncated to the configured limits. Throws DataError for missing,
// truncated or malformed files.
DataSplits load_data(const config::DataConfig& cfg);

// Keep the first `limit` samples of `ds` (0 = all).
Dataset take_first(const Dataset& ds, std::int64_t limit);

// Superclass labels for `labels_n` via the `superclass_of` table.
torch::Tensor map_superclasses(const torch::Tensor& labels_n, const std::vector<std::int64_t>& superclass_of);

}  // namespace moexp::data
