// Expanding a sweep spec into runs (pure, Torch-free): fixed values, grid x zip groups (+ explicit runs), conditional
// blocks, seeds, duplicate removal by config hash, and an optional random subset.
#pragma once

#include "config/experiment.hpp"
#include "config/sweep_spec.hpp"

#include <string>
#include <utility>
#include <vector>

namespace moexp::sweep {

struct PlannedRun {
  std::vector<std::pair<std::string, config::Value>> overrides;  // what the sweep set, in order
  config::ExperimentConfig config;                               // resolved
  std::string config_hash;
  std::string label;  // "constraint.kind=kl moe.num_experts=4 train.seed=0"
};

struct Plan {
  std::vector<PlannedRun> runs;           // in expansion order
  std::size_t duplicates = 0;             // expanded runs dropped because an earlier one had the same config hash
  std::vector<std::string> missing_data;  // with MissingData::warn: each distinct missing-data message
};

// Whether planning refuses a run whose data files are missing (before a real sweep) or notes it (a dry run, which
// needs no data).
enum class MissingData { refuse, warn };

// The most runs one spec may expand to (before duplicates are dropped and before [sample] picks its subset): beyond
// this a spec is a mistake, and expanding it would take minutes and gigabytes.
inline constexpr std::size_t kMaxPlannedRuns = 10000;

// Expand `spec` over `base` (the base experiment loaded with config::Resolve::no). Each run is resolved and
// validated; a run the schema rejects throws ConfigError naming the spec line of the axis responsible, and so does
// an expansion past kMaxPlannedRuns (naming the axis that crosses it).
// `max_runs` lowers the expansion limit (the fuzz target, which must stay fast).
Plan plan_sweep(const config::SweepSpec& spec, const config::ExperimentConfig& base,
                MissingData missing = MissingData::refuse, std::size_t max_runs = kMaxPlannedRuns);

// Load the spec's base experiment and plan it.
Plan plan_sweep(const config::SweepSpec& spec, MissingData missing = MissingData::refuse,
                std::size_t max_runs = kMaxPlannedRuns);

}  // namespace moexp::sweep
