// Lookups shared by the closed sets that are defined once as tables (constraint kinds, datasets, sweep backends,
// run statuses, attempt outcomes): find an entry by its name, list the names. Header-only and constexpr where it can
// be.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::core {

// The entry of `table` (any range of structs with a `name` member) whose name is `name`, or nullptr.
template <typename Table>
constexpr const typename Table::value_type* find_by_name(const Table& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

// Whether every entry of `table` (structs with an enum member `id`) sits at the index of its id: the registries that
// an enum indexes check it with a static_assert.
template <typename Table>
constexpr bool ids_in_order(const Table& table) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (static_cast<std::size_t>(table[i].id) != i) {
      return false;
    }
  }
  return true;
}

// The names of `table`'s entries, in table order.
template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> names;
  names.reserve(table.size());
  for (const auto& entry : table) {
    names.emplace_back(entry.name);
  }
  return names;
}

// The enumerator of `Enum` whose name (at its index in `names`, the enum's order) is `text`, or nullopt.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> enum_named(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

}  // namespace moexp::core
