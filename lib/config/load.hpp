// Loading an experiment: TOML file (+ --set overrides) -> validated, resolved ExperimentConfig.
// The only code besides canonical.cpp that touches TOML++.
#pragma once

#include "config/experiment.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::config {

struct LoadResult {
  ExperimentConfig config;            // resolved: defaults filled in, paths absolute
  std::vector<std::string> warnings;  // settings that have no effect, etc.
};

// Whether loading fills defaults and validates combinations and data files (no: the sweep planner applies axes
// first, then resolves each run).
enum class Resolve { yes, no };

// Parse and validate the experiment in `file`, then apply `overrides` ("key=value", value in TOML syntax or a bare
// string). Throws ConfigError "file:line:col: key: what is wrong" (or "--set key=value: ...") on the first problem,
// including a missing data file. `name` defaults to the file's stem.
LoadResult load_experiment_file(const std::filesystem::path& file, const std::vector<std::string>& overrides = {},
                                Resolve resolve = Resolve::yes);

// As load_experiment_file, for TOML `text` whose errors are reported against `source_name`.
LoadResult load_experiment_text(std::string_view text, const std::string& source_name,
                                const std::vector<std::string>& overrides = {}, Resolve resolve = Resolve::yes);

// Validate and resolve an already-built config (defaults, absolute paths, data files present).
// `where(key)` gives the location prefix to report for a key. Throws ConfigError. With `missing_data`, a missing
// data file is appended there instead of thrown (planning a dry run before the data is fetched).
void resolve_and_validate(ExperimentConfig& cfg, const std::function<std::string(const std::string&)>& where,
                          std::vector<std::string>* missing_data = nullptr);

}  // namespace moexp::config
