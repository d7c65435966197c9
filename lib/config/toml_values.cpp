#include "config/toml_values.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

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

Override parse_override(const std::string& text) {
  Override o;
  o.where = fmt::format("--set {}", text);
  if (!core::valid_utf8(text)) {
    throw ConfigError(fmt::format("{}: not valid UTF-8 (a config is TOML, which is UTF-8)", o.where));
  }
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(fmt::format("{}: expected key=value", o.where));
  }
  const std::string key = text.substr(0, eq);
  const std::string value_text = text.substr(eq + 1);
  o.spec = find_key(key);
  if (o.spec == nullptr) {
    throw ConfigError(fmt::format("{}: {}", o.where, unknown_key_message(key)));
  }
  toml::table parsed;
  bool parsed_ok = true;
  try {
    parsed = toml::parse("v = " + value_text);
  } catch (const toml::parse_error&) {
    parsed_ok = false;
  }
  std::optional<Value> value;
  if (parsed_ok && parsed["v"].node() != nullptr) {
    value = to_value(*parsed["v"].node(), o.spec->type);
  }
  if (!value && o.spec->type == ValueType::string) {
    value = Value(value_text);
  }
  if (!value) {
    throw ConfigError(fmt::format("{}: {}: expected {}, got '{}'", o.where, key, type_name(o.spec->type), value_text));
  }
  if (auto problem = check_value(*o.spec, *value)) {
    throw ConfigError(fmt::format("{}: {}: {}", o.where, key, *problem));
  }
  o.value = std::move(*value);
  return o;
}

}  // namespace moexp::config
