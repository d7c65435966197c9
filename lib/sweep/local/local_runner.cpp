#include "sweep/local/local_runner.hpp"

#include "core/progress.hpp"
#include "core/stop_signals.hpp"
#include "sweep/local/executor.hpp"
#include "sweep/local/live_display.hpp"
#include "sweep/sweep_steps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <thread>

namespace moexp::sweep {
namespace fs = std::filesystem;

// The local backend: run the plan's pending runs as child processes on this machine's slots.
int run_locally(const config::SweepSpec& spec, const Plan& plan, const SweepRequest& req) {
  const auto slots = make_slots(spec.executor.jobs, spec.executor.gpus, spec.executor.per_gpu);
  const std::int64_t cores = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  const std::int64_t threads = spec.executor.threads > 0
                                   ? spec.executor.threads
                                   : std::max<std::int64_t>(1, cores / static_cast<std::int64_t>(slots.size()));

  if (req.dry_run) {
    print_plan(spec, plan, req.db_path, fmt::format("{} slot(s), {} thread(s) per run", slots.size(), threads));
    return 0;
  }

  store::ResultStore db(req.db_path);
  const auto sweep_id = db.sweeps().upsert(spec.name, fs::absolute(spec.file).string(), spec.spec_hash);
  // Attempts that ended while no sweep was alive (its parent was killed) get their rows before planning on.
  std::vector<std::int64_t> known;
  for (const auto& r : db.sweeps().runs(sweep_id)) {
    known.push_back(r.run_id);
  }
  if (const auto n = reconcile_orphaned_claims(db, req.db_path, known, sweep_id); n > 0) {
    fmt::print("sweep '{}': recorded {} attempt(s) that ended after an earlier sweep process died\n", spec.name, n);
  }
  auto queue = record_plan(db, sweep_id, spec, plan, req, threads, {});
  fmt::print("sweep '{}': {} runs, {} already done, {} to run on {} slot(s) with {} thread(s) each\n", spec.name,
             plan.runs.size(), queue.done, queue.items.size(), slots.size(), threads);
  std::fflush(stdout);

  ExecutorOptions options;
  options.slots = slots;
  options.moexp_exe = req.moexp_exe.empty() ? self_exe() : req.moexp_exe;
  options.db_path = req.db_path;
  options.sweep_id = sweep_id;
  options.timeout_s = spec.executor.timeout_s;
  options.retries = spec.executor.retries;
  options.journal = spec.executor.journal;
  std::optional<LiveDisplay> live;
  if (core::is_terminal(stdout)) {
    live.emplace(stdout, db.metrics(), slots, queue.items.size());
    options.on_tick = [&] { live->tick(); };
  }
  EventPrinter printer(queue.items.size());
  auto on_event = [&](const ExecutorEvent& e) {
    if (live) {
      live->on_event(e);
    } else {
      printer(e);
    }
  };
  SweepSummary summary;
  {
    core::StopSignals signals;
    ProcessLauncher launcher;
    Executor executor(launcher, db, options, on_event);
    summary = executor.run(std::move(queue.items), signals.flag());
  }
  if (live) {
    live->close();
  }
  return finish_sweep(db, sweep_id, spec.name, summary);
}

std::size_t settle_local_for_status(store::ResultStore& db, const std::string& db_path, std::int64_t sweep_id,
                                    const std::string& name) {
  std::vector<std::int64_t> run_ids;
  for (const auto& r : db.sweeps().runs(sweep_id)) {
    run_ids.push_back(r.run_id);
  }
  ProcessLauncher launcher;
  ExecutorOptions options;
  options.db_path = db_path;
  options.sweep_id = sweep_id;
  Executor executor(launcher, db, options);
  SweepSummary settled;
  const auto n = executor.reconcile(run_ids, settled);
  if (n > 0) {
    fmt::print("sweep '{}': recorded {} attempt(s) that ended after the sweep that started them died\n", name, n);
  }
  return n;
}

}  // namespace moexp::sweep
