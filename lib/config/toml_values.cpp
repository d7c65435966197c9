#include "config/toml_values.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace moexp::config {

std::string location(const std::string& source, const toml::source_region& region) {
  return fmt::format("{}:{}:{}", source, region.begin.line, region.begin.column);
}

std::string node_kind(const toml::node& node) {
  switch (node.type()) {
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::table:
    return "a table";
  default:
    return "a date/time";
  }
}

std::optional<Value> to_value(const toml::node& node, ValueType type) {
  switch (type) {
  case ValueType::integer:
    if (auto v = node.as_integer()) {
      return Value(v->get());
    }
    return std::nullopt;
  case ValueType::floating:
    if (auto v = node.as_floating_point()) {
      return Value(v->get());
    }
    if (auto v = node.as_integer()) {
      return Value(static_cast<double>(v->get()));
    }
    return std::nullopt;
  case ValueType::boolean:
    if (auto v = node.as_boolean()) {
      return Value(v->get());
    }
    return std::nullopt;
  case ValueType::string:
    if (auto v = node.as_string()) {
      return Value(v->get());
    }
    return std::nullopt;
  case ValueType::integer_list:
    if (auto v = node.as_integer()) {
      return Value(std::vector<std::int64_t>{v->get()});
    }
    if (auto arr = node.as_array()) {
      std::vector<std::int64_t> items;
      for (const auto& item : *arr) {
        auto i = item.as_integer();
        if (!i) {
          return std::nullopt;
        }
        items.push_back(i->get());
      }
      return Value(items);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace moexp::config
