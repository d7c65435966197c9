#include "sweep/slurm/slurm_runner.hpp"

#include "core/stop_signals.hpp"
#include "sweep/slurm/slurm_executor.hpp"
#include "sweep/slurm/slurm_submission.hpp"
#include "sweep/sweep_steps.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <filesystem>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

SlurmExecutorOptions slurm_options(const config::SweepSpec& spec, std::optional<std::int64_t> sweep_id,
                                   const SweepRequest& req) {
  SlurmExecutorOptions options;
  options.slurm = spec.slurm;
  options.sweep_name = spec.name;
  options.sweep_id = sweep_id;
  options.moexp_exe = fs::absolute(req.moexp_exe.empty() ? self_exe() : req.moexp_exe);
  options.db_path = fs::absolute(req.db_path);
  options.retries = spec.executor.retries;
  options.timeout_s = spec.executor.timeout_s;
  options.poll = std::chrono::milliseconds(static_cast<std::int64_t>(spec.slurm.poll_s * 1000));
  return options;
}

}  // namespace

// The Slurm backend: settle what ended since last time, submit the rest as one array, then watch (or detach).
int run_on_slurm(const config::SweepSpec& spec, const Plan& plan, const SweepRequest& req) {
  if (fs::path(req.db_path).is_relative()) {
    fmt::print(stderr,
               "moexp: warning: --db {} is relative; Slurm tasks use {}, which must be on a filesystem the compute "
               "nodes reach\n",
               req.db_path, fs::absolute(req.db_path).string());
  }
  const std::int64_t threads = spec.slurm.cpus_per_task > 0 ? spec.slurm.cpus_per_task
                               : spec.executor.threads > 0  ? spec.executor.threads
                                                            : 1;
  if (req.dry_run) {
    print_plan(spec, plan, req.db_path, fmt::format("one Slurm array, {} thread(s) per task", threads));
    const auto options = slurm_options(spec, std::nullopt, req);
    ArrayJob job{spec.name,       std::vector<std::int64_t>(plan.runs.size()), options.moexp_exe,
                 options.db_path, slurm_log_dir(options.db_path, spec.name),   slurm_device(spec.slurm)};
    if (!plan.runs.empty()) {
      fmt::print(
          "would submit: sbatch --parsable {}\n",
          fmt::join(sbatch_arguments(job, spec.slurm, spec.executor.timeout_s, job.log_dir / "submit-N.sh"), " "));
    }
    return 0;
  }
  store::ResultStore db(req.db_path);
  const auto sweep_id = db.sweeps().upsert(spec.name, fs::absolute(spec.file).string(), spec.spec_hash);
  SlurmCli cli;
  EventPrinter printer(plan.runs.size());
  SlurmExecutor executor(cli, db, slurm_options(spec, sweep_id, req), [&](const ExecutorEvent& e) { printer(e); });
  SweepSummary settled;
  std::vector<std::int64_t> known;
  for (const auto& r : db.sweeps().runs(sweep_id)) {
    known.push_back(r.run_id);
  }
  executor.reconcile(known, settled);  // tasks that ended while nobody watched
  auto queue = record_plan(db, sweep_id, spec, plan, req, threads, executor.in_flight());
  fmt::print("sweep '{}': {} runs, {} already done, {} queued or running in Slurm, {} to submit\n", spec.name,
             plan.runs.size(), queue.done, queue.in_flight, queue.items.size());
  printer.set_total(static_cast<std::size_t>(queue.in_flight) + queue.items.size());
  if (!queue.items.empty()) {
    const auto array = executor.submit_array(queue.items);
    fmt::print("submitted Slurm array {} ({} task{}{})\n", array, queue.items.size(),
               queue.items.size() == 1 ? "" : "s",
               spec.slurm.array_parallelism > 0 ? fmt::format(", at most {} at once", spec.slurm.array_parallelism)
                                                : std::string());
  }
  std::fflush(stdout);
  if (req.detach) {
    fmt::print("detached: follow with `moexp sweep status {} --db {}`; run the same command again to retry failures\n",
               spec.name, req.db_path);
    return 0;
  }
  core::StopSignals signals;
  const auto summary = executor.watch(signals.flag());
  return finish_sweep(db, sweep_id, spec.name, summary);
}

std::size_t settle_slurm_for_status(store::ResultStore& db, const std::string& db_path, std::int64_t sweep_id,
                                    const std::string& name) {
  const auto open = db.sweeps().open_slurm_tasks(sweep_id);
  if (open.empty()) {
    return 0;
  }
  if (!slurm_available()) {
    fmt::print("{} Slurm task(s) not settled yet; Slurm cannot be reached from here (no sbatch on PATH)\n",
               open.size());
    return 0;
  }
  SlurmCli cli;
  SlurmExecutorOptions options;
  options.sweep_name = name;
  options.sweep_id = sweep_id;
  options.db_path = fs::absolute(db_path);
  SlurmExecutor executor(cli, db, options);
  SweepSummary settled;
  const auto n = executor.reconcile({}, settled);
  fmt::print("reconciled with Slurm: {} task(s) ended since the last look, {} queued or running\n", n,
             db.sweeps().open_slurm_tasks(sweep_id).size());
  return n;
}

}  // namespace moexp::sweep
