// The datasets, defined once: name and the file format it is read from. The experiment schema
// (allowed values of data.dataset, which keys apply), config's file lookup, the data loader's dispatch and
// `moexp data fetch` read this table. A new dataset is one entry here, its files in config/data_files.cpp, its
// reader and class names in lib/data, and (when it can be downloaded) its archives in fetch/catalog.cpp.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace moexp {

enum class DatasetFormat {
  idx,        // MNIST-style IDX files (train- / t10k-images-idx3-ubyte[.gz] + labels)
  cifar,      // CIFAR binary batches
  generated,  // made in memory from the data.synthetic_* keys; no files
  coco,       // COCO instances JSON + an image folder per split (detection)
};

struct DatasetInfo {
  std::string_view name;  // as written in data.dataset
  DatasetFormat format;
};

inline constexpr std::array<DatasetInfo, 7> kDatasets{{
    {"fashion_mnist", DatasetFormat::idx},
    {"mnist", DatasetFormat::idx},
    {"cifar10", DatasetFormat::cifar},
    {"cifar100", DatasetFormat::cifar},
    {"synthetic", DatasetFormat::generated},
    {"coco", DatasetFormat::coco},    // COCO 2017's layout: annotations/instances_{train,val}2017.json, {train,val}2017/
    {"shapes", DatasetFormat::coco},  // `moexp data shapes`' layout: annotations/instances_{train,val}.json, {train,val}/
}};

// The dataset called `name`, or nullptr.
const DatasetInfo* find_dataset_kind(std::string_view name);

// Whether `name` is a dataset generated in memory (no data.path, no files to fetch).
bool is_generated_dataset(std::string_view name);

// Whether `name` is a detection dataset (COCO format): trained by the detection task with model.arch = "retinanet".
bool is_detection_dataset(std::string_view name);

// The datasets' names, in kDatasets' order.
std::vector<std::string> dataset_kind_names();

} // namespace moexp
