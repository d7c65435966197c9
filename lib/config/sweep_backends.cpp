#include "config/sweep_backends.hpp"

#include <fmt/format.h>

namespace moexp::config {

const SweepBackendInfo* find_sweep_backend(std::string_view name) {
  for (const auto& backend : kSweepBackends) {
    if (backend.name == name) {
      return &backend;
    }
  }
  return nullptr;
}

std::vector<std::string> sweep_backend_names() {
  std::vector<std::string> names;
  for (const auto& backend : kSweepBackends) {
    names.emplace_back(backend.name);
  }
  return names;
}

std::string sweep_backend_choices() {
  std::string out;
  for (std::size_t i = 0; i < kSweepBackends.size(); ++i) {
    if (i > 0) {
      out += i + 1 == kSweepBackends.size() ? " or " : ", ";
    }
    out += fmt::format("\"{}\"", kSweepBackends[i].name);
  }
  return out;
}

} // namespace moexp::config
