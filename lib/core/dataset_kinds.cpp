#include "core/dataset_kinds.hpp"

#include "core/name_table.hpp"

namespace moexp {

static_assert(core::ids_in_order(kDatasets), "kDatasets lists the datasets in the order of enum Dataset");

const DatasetInfo* find_dataset_kind(std::string_view name) {
  return core::find_by_name(kDatasets, name);
}

const DatasetInfo& dataset_info(Dataset id) {
  return kDatasets.at(static_cast<std::size_t>(id));
}

bool is_generated_dataset(std::string_view name) {
  const auto* d = find_dataset_kind(name);
  return d != nullptr && d->format == DatasetFormat::generated;
}

bool is_generated_dataset(Dataset id) {
  return dataset_format(id) == DatasetFormat::generated;
}

bool is_detection_dataset(std::string_view name) {
  const auto* d = find_dataset_kind(name);
  return d != nullptr && d->format == DatasetFormat::coco;
}

bool is_detection_dataset(Dataset id) {
  return dataset_task(id) == TaskKind::detection;
}

TaskKind dataset_task(Dataset id) {
  switch (dataset_format(id)) {
    case DatasetFormat::idx:
    case DatasetFormat::cifar:
    case DatasetFormat::generated:
      return TaskKind::classification;
    case DatasetFormat::coco:
      return TaskKind::detection;
  }
  return TaskKind::classification;
}

std::vector<std::string> dataset_kind_names() {
  return core::names_of(kDatasets);
}

}  // namespace moexp
