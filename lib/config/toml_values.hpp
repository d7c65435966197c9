// TOML++ helpers shared by the config readers (internal to lib/config: the only code that touches TOML++).
#pragma once

#include "config/schema.hpp"

#include <toml++/toml.h>

#include <optional>
#include <string>

namespace moexp::config {

// "file:line:col" of `region` in `source`.
std::string location(const std::string& source, const toml::source_region& region);

// "an integer", "a string", ... for error messages.
std::string node_kind(const toml::node& node);

// Convert `node` to a Value of `type` (an integer is accepted as a float, a single integer as a list); nullopt when
// the node has another type.
std::optional<Value> to_value(const toml::node& node, ValueType type);

// A `--set key=value` override: the key's spec and its value (TOML syntax, or a bare string for a string key),
// checked against the schema. Throws ConfigError "--set key=value: what is wrong".
struct Override {
  const KeySpec* spec = nullptr;
  Value value;
  std::string where;  // "--set key=value"
};
Override parse_override(const std::string& text);

}  // namespace moexp::config
