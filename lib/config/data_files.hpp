// Where each dataset's files live on disk (Torch-free; used by config validation and the data loaders).
#pragma once

#include "config/experiment.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace moexp::config {

// Where the Debian package dataset-fashion-mnist installs Fashion-MNIST.
inline constexpr const char* kFashionMnistDefaultPath = "/usr/share/datasets/fashion-mnist";

// The files of one split of a dataset, resolved under its data path.
struct SplitFiles {
  std::vector<std::filesystem::path> images;  // IDX: one images file; CIFAR: the batch files (images + labels)
  std::filesystem::path labels;               // IDX only
};

// The default data.path of `dataset` ("" when there is none: the user must give one).
std::string default_data_path(Dataset dataset);

// Locate the files of `split` ("train" or "test") of `data` (not synthetic). Accepts plain or .gz IDX files and the
// CIFAR archive's inner folder. Throws ConfigError naming the first missing file; `where` prefixes the message.
SplitFiles locate_split_files(const DataConfig& data, const std::string& split, const std::string& where = "");

// One split of a detection dataset: its COCO annotation file and its image folder.
struct DetectionFiles {
  std::filesystem::path annotations;
  std::filesystem::path images;
};

// Locate the annotation file and image folder of `split` ("train" or "val") of a COCO-format dataset:
// data.*_annotations and data.*_images when set (relative to data.path unless absolute), else the dataset's layout.
// Throws ConfigError naming the missing file or folder; `where` prefixes the message.
DetectionFiles locate_detection_files(const DataConfig& data, const std::string& split, const std::string& where = "");

}  // namespace moexp::config
