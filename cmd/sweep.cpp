// moexp sweep SPEC.toml [--set key=value]... [--name NAME] [--jobs N] [--gpus 0,1] [--per-gpu K] [--dry-run] [--force]
// [--retry-failed] [--db PATH]
//                       [--backend local|slurm] [--partition P] [--array-parallelism N] [--slurm-arg ARG]... [--detach]
// moexp sweep status SPEC|NAME [--db PATH]
#include "commands.hpp"

#include "config/sweep_backends.hpp"
#include "core/error.hpp"
#include "sweep/run_sweep.hpp"

#include <cstdint>

namespace moexp::cli {

Action setup_sweep(CLI::App& app) {
  auto req = std::make_shared<sweep::SweepRequest>();
  auto jobs = std::make_shared<std::int64_t>(0);
  auto per_gpu = std::make_shared<std::int64_t>(0);
  auto gpus = std::make_shared<std::vector<std::int64_t>>();
  auto status_target = std::make_shared<std::string>();
  app.add_option("spec", req->spec, "sweep TOML file (see docs/sweeps.md)");
  app.add_option("--db", req->db_path, "results database")->capture_default_str();
  app.add_option("--set", req->overrides,
                 "fix a key for every run: --set train.epochs=1 (repeatable; not a key the "
                 "spec varies)");
  auto name = std::make_shared<std::string>();
  auto* name_opt = app.add_option("--name", *name, "the sweep's name in the database (default: the spec's name)");
  auto* jobs_opt = app.add_option("--jobs", *jobs, "parallel runs on CPU (overrides executor.jobs)");
  auto* gpus_opt = app.add_option("--gpus", *gpus, "GPU ids, one slot per GPU and --per-gpu (overrides executor.gpus)")
                       ->delimiter(',');
  auto* per_gpu_opt = app.add_option("--per-gpu", *per_gpu, "runs per GPU (overrides executor.per_gpu)");
  app.add_flag("--dry-run", req->dry_run, "print the planned runs with their state and exit");
  app.add_flag("--force", req->force, "run configs again even when already finished");
  app.add_flag("--retry-failed", req->retry_failed, "run failed configs again even when their retries are used up");
  app.add_option("--moexp", req->moexp_exe, "binary the runs execute (default: this one)");
  auto backend = std::make_shared<std::string>();
  auto partition = std::make_shared<std::string>();
  auto parallelism = std::make_shared<std::int64_t>(0);
  auto* backend_opt = app.add_option("--backend", *backend,
                                     "where runs execute: local child processes or a Slurm "
                                     "job array (overrides executor.backend)")
                          ->check(CLI::IsMember(config::sweep_backend_names()));
  auto* partition_opt = app.add_option("--partition", *partition, "Slurm partition (overrides slurm.partition)");
  auto* parallelism_opt = app.add_option("--array-parallelism", *parallelism,
                                         "Slurm: at most N tasks at once (overrides "
                                         "slurm.array_parallelism)")
                              ->check(CLI::PositiveNumber);
  app.add_option("--slurm-arg", req->slurm_args,
                 "extra sbatch argument, e.g. --slurm-arg=--constraint=a100 "
                 "(repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--detach", req->detach, "Slurm: submit and exit; `moexp sweep status` settles the runs later");
  auto* status = app.add_subcommand("status", "show a sweep's runs from the database");
  status->add_option("target", *status_target, "sweep spec file or sweep name")->required();
  status->add_option("--db", req->db_path, "results database")->capture_default_str();
  auto status_metric = std::make_shared<std::string>("test_acc");
  status->add_option("--metric", *status_metric, "metric column, at each run's last epoch (e.g. test_top5_acc)")
      ->capture_default_str();
  app.footer("Exit codes: 0 all runs ended (finished or diverged), 1 some failed, 2 bad input, 130 stopped.");
  return [=] {
    if (status->parsed()) {
      return sweep::sweep_status(*status_target, req->db_path, *status_metric);
    }
    if (req->spec.empty()) {
      throw InputError("sweep: a sweep file is required (e.g. moexp sweep sweeps/fmnist_cpu.toml)");
    }
    if (name_opt->count() > 0) {
      req->name = *name;
    }
    if (jobs_opt->count() > 0) {
      req->jobs = *jobs;
    }
    if (gpus_opt->count() > 0) {
      req->gpus = *gpus;
    }
    if (per_gpu_opt->count() > 0) {
      req->per_gpu = *per_gpu;
    }
    if (backend_opt->count() > 0) {
      req->backend = *backend;
    }
    if (partition_opt->count() > 0) {
      req->partition = *partition;
    }
    if (parallelism_opt->count() > 0) {
      req->array_parallelism = *parallelism;
    }
    return sweep::run_sweep(*req);
  };
}

}  // namespace moexp::cli
