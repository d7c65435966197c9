#include "config/sweep_backends.hpp"

#include "core/name_table.hpp"

#include <fmt/format.h>

namespace moexp::config {

const SweepBackendInfo* find_sweep_backend(std::string_view name) {
  return core::find_by_name(kSweepBackends, name);
}

std::vector<std::string> sweep_backend_names() {
  return core::names_of(kSweepBackends);
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

}  // namespace moexp::config
