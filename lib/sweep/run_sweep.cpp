#include "sweep/run_sweep.hpp"

#include "config/canonical.hpp"
#include "config/schema.hpp"
#include "config/sweep_spec.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/text_table.hpp"
#include "store/result_store.hpp"
#include "core/progress.hpp"
#include "sweep/executor.hpp"
#include "sweep/live_display.hpp"
#include "sweep/planner.hpp"

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <csignal>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_sweep_signal(int) { g_stop.store(true); }

std::string self_exe() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "moexp" : path.string();
}


std::string state_of(const std::optional<store::RunRow>& row) {
  if (!row) {
    return "new";
  }
  return row->status;
}

void print_status_table(store::ResultStore& db, std::int64_t sweep_id, const std::string& name) {
  auto rows = db.sweep_runs(sweep_id);
  core::TextTable table({"#", "run", "status", "epochs", "attempts", "test acc", "time", "config"});
  std::map<std::string, int> counts;
  for (const auto& r : rows) {
    ++counts[r.status];
    table.add_row({std::to_string(r.position + 1), std::to_string(r.run_id), r.status, std::to_string(r.epochs_done),
                   std::to_string(r.attempts), r.test_acc ? fmt::format("{:.2f}%", 100 * *r.test_acc) : "-",
                   core::format_duration(r.wall_seconds), r.label});
  }
  fmt::print("sweep '{}': {} runs", name, rows.size());
  for (const auto& [status, n] : counts) {
    fmt::print(", {} {}", n, status);
  }
  fmt::print("\n{}", table.render());
}

} // namespace

int run_sweep(const SweepRequest& req) {
  auto spec = config::load_sweep_spec(req.spec);
  if (req.jobs) {
    spec.executor.jobs = *req.jobs;
  }
  if (req.gpus) {
    spec.executor.gpus = *req.gpus;
  }
  if (req.per_gpu) {
    spec.executor.per_gpu = *req.per_gpu;
  }
  const auto slots = make_slots(spec.executor.jobs, spec.executor.gpus, spec.executor.per_gpu);
  const std::int64_t cores = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  const std::int64_t threads =
      spec.executor.threads > 0 ? spec.executor.threads
                                : std::max<std::int64_t>(1, cores / static_cast<std::int64_t>(slots.size()));
  Plan plan = plan_sweep(spec);

  if (req.dry_run) {
    std::optional<store::ResultStore> db;
    if (fs::exists(req.db_path)) {
      db.emplace(req.db_path);
    }
    core::TextTable table({"#", "state", "hash", "config"});
    for (std::size_t i = 0; i < plan.runs.size(); ++i) {
      const auto& run = plan.runs[i];
      table.add_row({std::to_string(i + 1), db ? state_of(db->find_run_by_hash(run.config_hash)) : "new",
                     run.config_hash, run.label.empty() ? "(base)" : run.label});
    }
    fmt::print("sweep '{}': {} runs ({} duplicate configs dropped), {} slot(s), {} thread(s) per run\n{}", spec.name,
               plan.runs.size(), plan.duplicates, slots.size(), threads, table.render());
    return 0;
  }

  store::ResultStore db(req.db_path);
  const auto sweep_id = db.upsert_sweep(spec.name, fs::absolute(spec.file).string(), spec.spec_hash);
  std::vector<WorkItem> queue;
  std::int64_t done = 0;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const auto& run = plan.runs[i];
    auto existing = db.find_run_by_hash(run.config_hash);
    const bool ended_ok =
        existing && (existing->status == store::kFinished || existing->status == store::kDiverged);
    const bool exhausted = existing && existing->status == store::kFailed &&
                           db.attempt_count(existing->id) > spec.executor.retries && !req.retry_failed;
    std::int64_t run_id = 0;
    if (!existing || (req.force && ended_ok)) {
      auto cfg = run.config;
      cfg.train.threads = threads;  // a resource setting, outside the config hash
      store::NewRun row{cfg.name, config::canonical_toml(cfg), run.config_hash, config::config_params(cfg), "", "", 0, {}};
      run_id = db.create_pending_run(row);
      std::error_code ec;
      fs::create_directories(fs::path(req.db_path).parent_path() / "runs" / std::to_string(run_id), ec);
    } else {
      run_id = existing->id;
    }
    db.link_sweep_run(sweep_id, run_id, static_cast<std::int64_t>(i), run.label.empty() ? "(base)" : run.label);
    if ((ended_ok && !req.force) || exhausted) {
      ++done;
      continue;
    }
    queue.push_back({run_id, run.label});
  }
  fmt::print("sweep '{}': {} runs, {} already done, {} to run on {} slot(s) with {} thread(s) each\n", spec.name,
             plan.runs.size(), done, queue.size(), slots.size(), threads);
  std::fflush(stdout);

  ExecutorOptions options;
  options.slots = slots;
  options.moexp_exe = req.moexp_exe.empty() ? self_exe() : req.moexp_exe;
  options.db_path = req.db_path;
  options.sweep_id = sweep_id;
  options.timeout_s = spec.executor.timeout_s;
  options.retries = spec.executor.retries;
  const std::size_t total = queue.size();
  std::size_t ended = 0;
  const auto start = std::chrono::steady_clock::now();
  std::optional<LiveDisplay> live;
  if (core::is_terminal(stdout)) {
    live.emplace(stdout, db, slots, total);
    options.on_tick = [&] { live->tick(); };
  }
  auto on_event = [&](const ExecutorEvent& e) {
    if (live) {
      live->on_event(e);
      return;
    }
    if (e.kind == ExecutorEvent::Kind::started) {
      fmt::print("[{}] start  run {} ({})\n", e.slot, e.run_id, e.label);
    } else if (e.kind == ExecutorEvent::Kind::waiting) {
      fmt::print("[{}] wait   run {} is held by another process\n", e.slot, e.run_id);
    } else {
      if (!e.will_retry) {
        ++ended;
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double eta = ended > 0 ? elapsed / static_cast<double>(ended) * static_cast<double>(total - ended) : -1;
      fmt::print("[{}] {:<8} run {} after {} ({}/{} done, ETA {}){}\n", e.slot, e.outcome, e.run_id,
                 core::format_duration(e.seconds), ended, total, core::format_duration(eta),
                 e.will_retry ? ", will retry" : "");
    }
    std::fflush(stdout);
  };

  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_sweep_signal;
  sigemptyset(&sa.sa_mask);
  g_stop.store(false);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  ProcessLauncher launcher;
  Executor executor(launcher, db, options, on_event);
  const auto summary = executor.run(std::move(queue), g_stop);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (live) {
    live->close();
  }

  fmt::print("\n");
  print_status_table(db, sweep_id, spec.name);
  if (summary.stopped) {
    fmt::print("stopped: running children were interrupted; run the same command again to continue\n");
    return 130;
  }
  return summary.failed > 0 ? 1 : 0;
}

int sweep_status(const std::string& spec_or_name, const std::string& db_path) {
  std::string name = spec_or_name;
  if (fs::is_regular_file(spec_or_name)) {
    name = config::load_sweep_spec(spec_or_name).name;
  }
  if (!fs::exists(db_path)) {
    throw InputError(fmt::format("sweep status: database {} does not exist", db_path));
  }
  store::ResultStore db(db_path);
  auto id = db.find_sweep(name);
  if (!id) {
    throw InputError(fmt::format("sweep status: no sweep '{}' in {}", name, db_path));
  }
  print_status_table(db, *id, name);
  return 0;
}

} // namespace moexp::sweep
