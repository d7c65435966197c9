#include "sweep/run_sweep.hpp"

#include "config/canonical.hpp"
#include "config/schema.hpp"
#include "config/sweep_backends.hpp"
#include "config/sweep_spec.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/metric_catalog.hpp"
#include "core/progress.hpp"
#include "core/stop_signals.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"
#include "store/result_store.hpp"
#include "sweep/executor.hpp"
#include "sweep/live_display.hpp"
#include "sweep/planner.hpp"
#include "sweep/slurm_executor.hpp"
#include "sweep/slurm_submission.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

std::string self_exe() {
  const auto path = core::self_executable();
  return path ? path->string() : "moexp";
}

std::string state_of(const std::optional<store::RunRow>& row) {
  if (!row) {
    return "new";
  }
  return std::string(to_text(row->status));
}

void print_status_table(store::ResultStore& db, std::int64_t sweep_id, const std::string& name,
                        const std::string& metric_key = "test_acc") {
  auto rows = db.sweeps().runs(sweep_id, metric_key);
  const MetricSpec metric = metric_spec(metric_key);
  // test_acc keeps its historical heading and form ("test acc", 53.75%).
  const std::string heading = metric_key == "test_acc" ? "test acc" : metric_key;
  auto shown = [&](double v) {
    return metric.scale == 100 ? fmt::format("{:.{}f}%", 100 * v, metric.decimals)
                               : fmt::format("{:.{}f}", v * metric.scale, metric.decimals);
  };
  const bool slurm = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return !r.slurm.empty(); });
  std::vector<std::string> header{"#", "run", "status", "epochs", "attempts", heading, "time"};
  if (slurm) {
    header.emplace_back("slurm task");
  }
  header.emplace_back("config");
  core::TextTable table(header);
  std::map<std::string, int> counts;
  std::size_t unplanned = 0;
  for (const auto& r : rows) {
    if (!r.planned) {
      ++unplanned;
      continue;
    }
    ++counts[std::string(to_text(r.status))];
    std::vector<std::string> cells{std::to_string(r.position + 1),       std::to_string(r.run_id),
                                   std::string(to_text(r.status)),       std::to_string(r.epochs_done),
                                   std::to_string(r.attempts),           r.metric ? shown(*r.metric) : "-",
                                   core::format_duration(r.wall_seconds)};
    if (slurm) {
      cells.push_back(r.slurm.empty() ? "-" : r.slurm);
    }
    cells.push_back(r.label);
    table.add_row(cells);
  }
  fmt::print("sweep '{}': {} runs", name, rows.size() - unplanned);
  for (const auto& [status, n] : counts) {
    fmt::print(", {} {}", n, status);
  }
  fmt::print("\n{}", table.render());
  if (unplanned > 0) {
    fmt::print("({} earlier run(s) no longer planned by the spec are not shown)\n", unplanned);
  }
}

// The planned runs with their state in the database (nothing is written).
void print_plan(const config::SweepSpec& spec, const Plan& plan, const std::string& db_path,
                const std::string& resources) {
  std::optional<store::ResultStore> db;
  if (fs::exists(db_path)) {
    db.emplace(db_path);
  }
  core::TextTable table({"#", "state", "hash", "config"});
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const auto& run = plan.runs[i];
    table.add_row({std::to_string(i + 1), db ? state_of(db->runs().find_by_hash(run.config_hash)) : "new",
                   run.config_hash, run.label.empty() ? "(base)" : run.label});
  }
  fmt::print("sweep '{}': {} runs ({} duplicate configs dropped), {}\n{}", spec.name, plan.runs.size(), plan.duplicates,
             resources, table.render());
}

// One line per executor event (when the live display is off).
class EventPrinter {
 public:
  explicit EventPrinter(std::size_t total) : m_total(total) {}
  void set_total(std::size_t total) { m_total = total; }
  void operator()(const ExecutorEvent& e) {
    if (e.kind == ExecutorEvent::Kind::started) {
      fmt::print("[{}] start  run {} ({})\n", e.slot, e.run_id, e.label);
    } else if (e.kind == ExecutorEvent::Kind::waiting) {
      fmt::print("[{}] wait   run {} is held by another process\n", e.slot, e.run_id);
    } else {
      if (!e.will_retry) {
        ++m_ended;
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
      const double eta =
          m_ended > 0 ? elapsed / static_cast<double>(m_ended) * static_cast<double>(m_total - m_ended) : -1;
      fmt::print("[{}] {:<8} run {} after {} ({}/{} done, ETA {}){}\n", e.slot, to_text(e.outcome), e.run_id,
                 core::format_duration(e.seconds), m_ended, m_total, core::format_duration(eta),
                 e.will_retry ? ", will retry" : "");
    }
    std::fflush(stdout);
  }

 private:
  std::size_t m_total;
  std::size_t m_ended = 0;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

// Create the sweep's rows: pending runs for new configs, links for all; returns what is left to run.
struct Queue {
  std::vector<WorkItem> items;
  std::int64_t done = 0;
  std::int64_t in_flight = 0;
};
Queue record_plan(store::ResultStore& db, std::int64_t sweep_id, const config::SweepSpec& spec, const Plan& plan,
                  const SweepRequest& req, std::int64_t threads, const std::set<std::int64_t>& in_flight) {
  Queue queue;
  db.sweeps().begin_plan(sweep_id);
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const auto& run = plan.runs[i];
    auto existing = db.runs().find_by_hash(run.config_hash);
    const bool ended_ok =
        existing && (existing->status == RunStatus::finished || existing->status == RunStatus::diverged);
    const bool exhausted = existing && existing->status == RunStatus::failed &&
                           db.sweeps().spent_attempts(existing->id) > spec.executor.retries && !req.retry_failed;
    std::int64_t run_id = 0;
    if (!existing || (req.force && ended_ok)) {
      auto cfg = run.config;
      cfg.train.threads = threads;  // a resource setting, outside the config hash
      store::NewRun row{.name = cfg.name,
                        .config_toml = config::canonical_toml(cfg),
                        .config_hash = run.config_hash,
                        .params = config::config_params(cfg)};  // no device, host or pid: pending
      run_id = db.runs().create_pending(row);
      if (auto moved = store::set_aside_stale_folder(req.db_path, run_id)) {
        fmt::print(stderr, "moexp: warning: {} held files of another database's run {}; moved them to {}\n",
                   store::run_folder(req.db_path, run_id).string(), run_id, moved->string());
      }
      std::error_code ec;
      fs::create_directories(store::run_folder(req.db_path, run_id), ec);
    } else {
      run_id = existing->id;
    }
    db.sweeps().link_run(sweep_id, run_id, static_cast<std::int64_t>(i), run.label.empty() ? "(base)" : run.label);
    if ((ended_ok && !req.force) || exhausted) {
      ++queue.done;
    } else if (in_flight.count(run_id) > 0) {
      ++queue.in_flight;
    } else {
      queue.items.push_back({run_id, run.label});
    }
  }
  std::vector<std::string> dropped;
  for (const auto& r : db.sweeps().runs(sweep_id)) {
    if (!r.planned) {
      dropped.push_back(fmt::format("{} ({}, {})", r.run_id, r.label, to_text(r.status)));
    }
  }
  if (!dropped.empty()) {
    fmt::print(
        "sweep '{}': {} earlier run(s) are no longer planned by {} and are left out of its status and report "
        "(kept in the database; `moexp report {} --all-runs` includes them): {}\n",
        spec.name, dropped.size(), spec.file.string(), spec.name, fmt::join(dropped, ", "));
  }
  return queue;
}

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

int finish_sweep(store::ResultStore& db, std::int64_t sweep_id, const std::string& name, const SweepSummary& summary) {
  fmt::print("\n");
  print_status_table(db, sweep_id, name);
  if (summary.stopped) {
    fmt::print("stopped: running children were interrupted; run the same command again to continue\n");
    return 130;
  }
  return summary.failed > 0 ? 1 : 0;
}

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
  executor.poll_once(Retry::no, settled);  // tasks that ended while nobody watched
  auto queue = record_plan(db, sweep_id, spec, plan, req, threads, executor.runs_in_flight());
  fmt::print("sweep '{}': {} runs, {} already done, {} queued or running in Slurm, {} to submit\n", spec.name,
             plan.runs.size(), queue.done, queue.in_flight, queue.items.size());
  printer.set_total(static_cast<std::size_t>(queue.in_flight) + queue.items.size());
  if (!queue.items.empty()) {
    const auto array = executor.submit(queue.items);
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

using BackendRunner = int (*)(const config::SweepSpec&, const Plan&, const SweepRequest&);

// Each backend's runner, by name (one line per entry of config::kSweepBackends), or nullptr.
BackendRunner find_runner(std::string_view name) {
  static const std::map<std::string_view, BackendRunner> kRunners = {
      {"local", run_locally},
      {"slurm", run_on_slurm},
  };
  const auto it = kRunners.find(name);
  return it == kRunners.end() ? nullptr : it->second;
}

// "slurm": the backends that detach, for messages.
std::string detaching_backends() {
  std::vector<std::string> names;
  for (const auto& backend : config::kSweepBackends) {
    if (backend.detaches) {
      names.emplace_back(backend.name);
    }
  }
  return fmt::format("{}", fmt::join(names, " | "));
}

// The command line's overrides obey the same rules as the spec's keys (executor.jobs >= 1, ...).
void check_overrides(const SweepRequest& req) {
  auto at_least = [](const std::optional<std::int64_t>& v, const char* option, std::int64_t min) {
    if (v && *v < min) {
      throw InputError(fmt::format("sweep: {} {}: expected an integer >= {}", option, *v, min));
    }
  };
  at_least(req.jobs, "--jobs", 1);
  at_least(req.per_gpu, "--per-gpu", 1);
  at_least(req.array_parallelism, "--array-parallelism", 1);
  if (req.gpus) {
    for (auto id : *req.gpus) {
      if (id < 0) {
        throw InputError(fmt::format("sweep: --gpus: {} is not a GPU id (ids are >= 0)", id));
      }
    }
  }
  if (req.name && req.name->find_first_not_of(" \t") == std::string::npos) {
    throw InputError("sweep: --name: a sweep name must not be empty");
  }
  if (!req.moexp_exe.empty() && ::access(req.moexp_exe.c_str(), X_OK) != 0) {
    throw InputError(fmt::format("sweep: --moexp {}: not an executable file", req.moexp_exe));
  }
  if (!req.moexp_exe.empty() && fs::is_directory(req.moexp_exe)) {
    throw InputError(fmt::format("sweep: --moexp {}: is a folder, not the moexp binary", req.moexp_exe));
  }
}

// `target` = the command line's `value` when it gave one.
template <typename T, typename U>
void override_with(T& target, const std::optional<U>& value) {
  if (value) {
    target = *value;
  }
}

}  // namespace

int run_sweep(const SweepRequest& req) {
  check_overrides(req);
  auto spec = config::load_sweep_spec(req.spec);
  config::apply_sweep_overrides(spec, req.overrides);
  override_with(spec.name, req.name);
  override_with(spec.executor.jobs, req.jobs);
  override_with(spec.executor.gpus, req.gpus);
  override_with(spec.executor.per_gpu, req.per_gpu);
  override_with(spec.executor.backend, req.backend);
  override_with(spec.slurm.partition, req.partition);
  override_with(spec.slurm.array_parallelism, req.array_parallelism);
  spec.slurm.args.insert(spec.slurm.args.end(), req.slurm_args.begin(), req.slurm_args.end());
  // A dry run plans and prints without the data (it reads no data files); a real sweep needs it before it starts.
  Plan plan = plan_sweep(spec, req.dry_run ? MissingData::warn : MissingData::refuse);
  for (const auto& warning : spec.warnings) {
    fmt::print(stderr, "moexp: warning: {}\n", warning);
  }
  for (const auto& missing : plan.missing_data) {
    fmt::print(stderr, "moexp: warning: {}; the dry run plans without it\n", missing);
  }
  if (spec.sample > 0 && static_cast<std::size_t>(spec.sample) > plan.runs.size()) {
    fmt::print(stderr, "moexp: warning: {}: sample.count = {} exceeds the {} planned runs; all of them run\n",
               spec.file.string(), spec.sample, plan.runs.size());
  }
  const auto* backend = config::find_sweep_backend(spec.executor.backend);
  if (backend == nullptr) {  // the spec and the command line accept only kSweepBackends' names
    throw InputError(fmt::format("sweep: unknown backend '{}'", spec.executor.backend));
  }
  if (req.detach && !backend->detaches) {
    throw InputError(fmt::format("sweep: --detach needs a backend whose runs go on without this process (--backend {})",
                                 detaching_backends()));
  }
  const BackendRunner runner = find_runner(backend->name);
  if (runner == nullptr) {
    throw std::logic_error(fmt::format("sweep backend '{}' has no runner", backend->name));
  }
  return runner(spec, plan, req);
}

bool has_backend_runner(std::string_view name) {
  return find_runner(name) != nullptr;
}

int sweep_status(const std::string& spec_or_name, const std::string& db_path, const std::string& metric_key) {
  std::string name = spec_or_name;
  if (fs::is_regular_file(spec_or_name)) {
    name = config::load_sweep_spec(spec_or_name).name;
  }
  if (!fs::exists(db_path)) {
    throw InputError(fmt::format("sweep status: database {} does not exist", db_path));
  }
  store::ResultStore db(db_path);
  auto id = db.sweeps().find(name);
  if (!id) {
    throw InputError(fmt::format("sweep status: no sweep '{}' in {}", name, db_path));
  }
  // Bad input is refused before Slurm tasks are settled (nothing is written for it).
  if (const auto keys = db.metrics().keys();
      !catalogued_metric(metric_key) && std::find(keys.begin(), keys.end(), metric_key) == keys.end()) {
    auto msg = fmt::format("sweep status: --metric {}: no run in {} stored it; metrics are {}", metric_key, db_path,
                           core::join_alternatives(keys));
    msg = core::with_suggestion(std::move(msg), metric_key, keys);
    throw InputError(msg);
  }
  // Runs that write journals (local `journal = true`, every Slurm task): what they recorded since a sweep last looked.
  // Safe beside a live sweep that ingests too: each record is applied once, by whichever process gets to it first.
  for (const auto& run : db.sweeps().runs(*id)) {
    ingest_run_journal_or_warn(db, db_path, run.run_id);
  }
  if (auto open = db.sweeps().open_slurm_tasks(*id); !open.empty()) {
    if (!slurm_available()) {
      fmt::print("{} Slurm task(s) not settled yet; Slurm cannot be reached from here (no sbatch on PATH)\n",
                 open.size());
    } else {
      SlurmCli cli;
      SlurmExecutorOptions options;
      options.sweep_name = name;
      options.sweep_id = *id;
      options.db_path = fs::absolute(db_path);
      SlurmExecutor executor(cli, db, options);
      SweepSummary settled;
      executor.poll_once(Retry::no, settled);
      fmt::print("reconciled with Slurm: {} task(s) ended since the last look, {} queued or running\n",
                 settled.attempts, db.sweeps().open_slurm_tasks(*id).size());
    }
  }
  print_status_table(db, *id, name, metric_key);
  return 0;
}

}  // namespace moexp::sweep
