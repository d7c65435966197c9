// The experiment schema: one entry per TOML key (type, allowed values, range, documentation, accessors).
// It drives parsing, --set overrides, validation, canonical output and sweep axis checks.
#pragma once

#include "config/experiment.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace moexp::config {

enum class ValueType { integer, floating, boolean, string, integer_list };

// A typed config value.
using Value = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>>;

struct KeySpec {
  std::string key;  // dotted, e.g. "moe.num_experts"
  ValueType type;
  std::vector<std::string> choices;  // allowed strings (string keys with a fixed set)
  std::optional<double> min;         // inclusive lower bound (numbers, list items)
  std::optional<double> max;         // inclusive upper bound
  bool identity = true;              // part of the config hash (false: resources and labels only)
  std::string doc;
  std::function<Value(const ExperimentConfig&)> get;
  std::function<void(ExperimentConfig&, const Value&)> set;
};

// All experiment keys, in canonical order (sections model, moe, constraint, data, train).
const std::vector<KeySpec>& experiment_keys();

// The entry for `key`, or nullptr.
const KeySpec* find_key(std::string_view key);

// All dotted key names (for did-you-mean suggestions).
std::vector<std::string> experiment_key_names();

// The message for an unknown experiment key, with a did-you-mean when one is close.
std::string unknown_key_message(const std::string& key);

// Human name of a type, e.g. "an integer".
std::string type_name(ValueType type);

// Check `value` against `spec`'s choices and range; returns the complaint or nullopt when fine.
std::optional<std::string> check_value(const KeySpec& spec, const Value& value);

// Whether `key` has an effect under `cfg` (e.g. constraint.threshold only for hard kinds).
bool key_applies(const ExperimentConfig& cfg, const std::string& key);

}  // namespace moexp::config
