#include "core/dataset_kinds.hpp"

namespace moexp {

const DatasetInfo* find_dataset_kind(std::string_view name) {
  for (const auto& d : kDatasets) {
    if (d.name == name) {
      return &d;
    }
  }
  return nullptr;
}

bool is_generated_dataset(std::string_view name) {
  const auto* d = find_dataset_kind(name);
  return d != nullptr && d->format == DatasetFormat::generated;
}

std::vector<std::string> dataset_kind_names() {
  std::vector<std::string> names;
  for (const auto& d : kDatasets) {
    names.emplace_back(d.name);
  }
  return names;
}

} // namespace moexp
