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

} // namespace moexp::config
