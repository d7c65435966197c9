// `moexp sweep` and `moexp sweep status` as library calls (Torch-free).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::sweep {

struct SweepRequest {
  std::string spec;  // sweep TOML
  std::string db_path = "results/moexp.db";
  std::optional<std::int64_t> jobs;
  std::optional<std::vector<std::int64_t>> gpus;
  std::optional<std::int64_t> per_gpu;
  bool dry_run = false;
  bool force = false;         // rerun configs already finished
  bool retry_failed = false;  // rerun failed configs whose retries are used up
  std::string moexp_exe;      // the binary children run (default: this one)
  // Slurm (overrides of the spec's executor.backend and [slurm] table).
  std::optional<std::string> backend;  // a name in config::kSweepBackends
  std::optional<std::string> partition;
  std::optional<std::int64_t> array_parallelism;
  std::vector<std::string> slurm_args;  // appended to [slurm] args
  bool detach = false;                  // slurm: submit, print, exit; `moexp sweep status` follows up
  std::vector<std::string> overrides;   // --set key=value: [fixed] values of every run (config::apply_sweep_overrides)
  std::optional<std::string> name;      // --name: the sweep's name in the database instead of the spec's
};

// Plan, record and execute a sweep. Returns 0 when every run finished (or diverged), 1 when some failed, 130 when
// stopped by a signal. Bad input throws InputError before anything runs.
int run_sweep(const SweepRequest& request);

// Whether run_sweep has a runner for backend `name` (every entry of config::kSweepBackends must).
bool has_backend_runner(std::string_view name);

// Print the state of sweep `spec_or_name` (a spec file or a sweep name) from the database, after ingesting its runs'
// journals and letting every backend reconcile what ended since the last look (a dead local sweep's attempts; Slurm
// tasks, when it has open ones and Slurm is reachable). The table shows metric
// `metric_key` (e.g. "test_top5_acc") at each run's last stored epoch; InputError when no run stored it ever.
int sweep_status(const std::string& spec_or_name, const std::string& db_path,
                 const std::string& metric_key = "test_acc");

}  // namespace moexp::sweep
