#include "core/dataset_kinds.hpp"

#include "core/name_table.hpp"

namespace moexp {

const DatasetInfo* find_dataset_kind(std::string_view name) { return core::find_by_name(kDatasets, name); }

bool is_generated_dataset(std::string_view name) {
  const auto* d = find_dataset_kind(name);
  return d != nullptr && d->format == DatasetFormat::generated;
}

bool is_detection_dataset(std::string_view name) {
  const auto* d = find_dataset_kind(name);
  return d != nullptr && d->format == DatasetFormat::coco;
}

std::vector<std::string> dataset_kind_names() { return core::names_of(kDatasets); }

} // namespace moexp
