// Canonical TOML of a resolved config: fixed key order, only keys that apply, one formatting per value type.
// Its hash is a run's identity (sweeps skip configs already finished with the same hash).
#pragma once

#include "config/experiment.hpp"
#include "config/schema.hpp"

#include <string>
#include <utility>
#include <vector>

namespace moexp::config {

enum class Canonical {
  identity,  // only keys that change results (no name, threads, eval batch size): what the hash covers
  record,    // every applicable key: what is stored with the run and can be loaded back
};

// The canonical TOML text of `cfg` (resolved). load_experiment_text of the `record` form gives `cfg` back.
std::string canonical_toml(const ExperimentConfig& cfg, Canonical form = Canonical::record);

// 16 hex digits identifying `cfg`: the content hash of its identity form.
std::string config_hash(const ExperimentConfig& cfg);

// One value in TOML syntax, e.g. 0.5 -> "0.5", 1 -> "1", "x" -> "\"x\"", [1, 2] -> "[1, 2]".
std::string format_value(const Value& value);

// Every applicable key of `cfg` (except `name`) with its canonical value text, plus moe.enabled: the rows a run's
// config is queried by (store table run_params).
std::vector<std::pair<std::string, std::string>> config_params(const ExperimentConfig& cfg);

// The value of dotted `key` in `cfg`, formatted as in the canonical TOML ("" for an unknown key).
std::string value_text(const ExperimentConfig& cfg, const std::string& key);

}  // namespace moexp::config
