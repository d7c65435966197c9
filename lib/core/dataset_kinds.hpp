// The datasets, defined once: name and the file format it is read from. The experiment schema
// (allowed values of data.dataset, which keys apply), config's file lookup, the data loader's dispatch and
// `moexp data fetch` read this table. A new dataset is one entry here, its files in config/data_files.cpp, its
// reader and class names in lib/data, and (when it can be downloaded) its archives in fetch/catalog.cpp.
#pragma once

#include "core/task_kinds.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace moexp {

enum class Dataset { fashion_mnist, mnist, cifar10, cifar100, synthetic, coco, shapes };

enum class DatasetFormat {
  idx,        // MNIST-style IDX files (train- / t10k-images-idx3-ubyte[.gz] + labels)
  cifar,      // CIFAR binary batches
  generated,  // made in memory from the data.synthetic_* keys; no files
  coco,       // COCO instances JSON + an image folder per split (detection)
};

struct DatasetInfo {
  Dataset id;
  std::string_view name;  // as written in data.dataset
  DatasetFormat format;
};

// In the order of enum Dataset (checked at compile time).
inline constexpr std::array<DatasetInfo, 7> kDatasets{{
    {Dataset::fashion_mnist, "fashion_mnist", DatasetFormat::idx},
    {Dataset::mnist, "mnist", DatasetFormat::idx},
    {Dataset::cifar10, "cifar10", DatasetFormat::cifar},
    {Dataset::cifar100, "cifar100", DatasetFormat::cifar},
    {Dataset::synthetic, "synthetic", DatasetFormat::generated},
    // COCO 2017's layout: annotations/instances_{train,val}2017.json, {train,val}2017/
    {Dataset::coco, "coco", DatasetFormat::coco},
    // `moexp data shapes`' layout: annotations/instances_{train,val}.json, {train,val}/
    {Dataset::shapes, "shapes", DatasetFormat::coco},
}};

// The dataset called `name`, or nullptr.
const DatasetInfo* find_dataset_kind(std::string_view name);

// The dataset `id`.
const DatasetInfo& dataset_info(Dataset id);

// The file format `id` is read from.
inline DatasetFormat dataset_format(Dataset id) {
  return dataset_info(id).format;
}

// The task a dataset is trained for: COCO-format sets are detection sets, the rest classification.
TaskKind dataset_task(Dataset id);

// Whether `name` is a dataset generated in memory (no data.path, no files to fetch).
bool is_generated_dataset(std::string_view name);
bool is_generated_dataset(Dataset id);

// Whether `name` is a detection dataset (COCO format): trained by the detection task with model.arch = "retinanet".
bool is_detection_dataset(std::string_view name);
bool is_detection_dataset(Dataset id);

// The datasets' names, in kDatasets' order.
std::vector<std::string> dataset_kind_names();

}  // namespace moexp
