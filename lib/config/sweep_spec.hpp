// A sweep specification (sweeps/*.toml): a base experiment and the axes to vary, plus executor settings.
// Parsed and checked against the experiment schema here; expanded into runs by sweep::plan.
#pragma once

#include "config/schema.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::config {

// One experiment key with the values it takes (one value for fixed settings).
struct Axis {
  std::string key;
  std::vector<Value> values;
  std::string where;                   // file:line:col of the key
  std::uint32_t line = 0, column = 0;  // for keeping the file's order (TOML tables do not)
};

// Axes or fixed values that apply only to runs whose `key` has one of the `equals` values.
struct Conditional {
  std::string key;
  std::vector<Value> equals;
  std::vector<Axis> grid;
  std::vector<Axis> fixed;
  std::string where;
};

struct ExecutorSettings {
  std::int64_t jobs = 1;           // parallel runs (without GPUs)
  std::vector<std::int64_t> gpus;  // GPU ids; with GPUs, slots = gpus x per_gpu
  std::int64_t per_gpu = 1;
  std::int64_t threads = 0;       // train.threads of each run; 0: cores / slots
  double timeout_s = 0;           // per-run wall-clock limit (0: none)
  std::int64_t retries = 1;       // extra attempts for a failed run (not for diverged ones)
  std::string backend = "local";  // a name in config::kSweepBackends (sweep_backends.hpp)
  bool journal = false;           // local runs write journals instead of the database (docs/sweeps.md)
};

// The [slurm] table: how array tasks are submitted (docs/sweeps.md). Empty strings leave Slurm's defaults.
struct SlurmSettings {
  std::string partition, account, qos;
  std::string gres;                    // e.g. "gpu:1"
  std::int64_t cpus_per_task = 0;      // 0: Slurm's default; also each run's train.threads
  std::string mem;                     // e.g. "16G"
  std::string time;                    // sbatch --time ("90", "2:00:00"); default: executor.timeout in minutes
  std::int64_t array_parallelism = 0;  // at most this many tasks at once (--array=...%N); 0: no limit
  std::vector<std::string> args;       // extra sbatch arguments, verbatim
  std::string device;                  // device of each run: "cpu" or "cuda" ("": cuda when gres names a GPU)
  double poll_s = 2;                   // squeue polling interval
};

struct SweepSpec {
  std::filesystem::path file;
  std::string name;
  std::filesystem::path base;           // resolved relative to the spec file
  std::vector<Axis> fixed;              // applied to every run
  std::vector<Axis> grid;               // cartesian product
  std::vector<std::vector<Axis>> zips;  // each group: axes of equal length, varied together
  std::vector<std::vector<Axis>> runs;  // explicit extra runs: fixed values each
  std::vector<std::int64_t> seeds;      // train.seed axis (empty: the base's seed)
  std::vector<Conditional> when;
  std::int64_t sample = 0;  // keep a random subset of this many runs (0: all)
  std::int64_t sample_seed = 0;
  ExecutorSettings executor;
  SlurmSettings slurm;
  std::string spec_hash;              // content hash of the spec text
  std::vector<std::string> warnings;  // "file:line:col: ..." for settings that are legal but likely mistakes
};

// Parse `file`. Unknown keys, experiment keys not in the schema (with did-you-mean), wrong value types, zip groups
// of unequal length, a missing base file and a key set in two places of the spec (fixed, grid, zip, seeds, or a
// [[when]] block against those; a [[runs]] entry against [fixed]) throw ConfigError "file:line:col: ...".
SweepSpec load_sweep_spec(const std::filesystem::path& file);

// Apply `moexp sweep SPEC --set key=value` overrides: each sets (or replaces) a [fixed] value of every run, and the
// spec hash takes them in. A key the spec varies (grid, zip, seeds, [[runs]], [[when]]) is refused, as is a bad key
// or value: ConfigError "--set key=value: ...".
void apply_sweep_overrides(SweepSpec& spec, const std::vector<std::string>& overrides);

// Parse a duration: a number of seconds, or "90s", "30m", "2h". Returns nullopt when malformed.
std::optional<double> parse_duration(const std::string& text);

}  // namespace moexp::config
