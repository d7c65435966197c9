#include "sweep/sweep_steps.hpp"

#include "config/canonical.hpp"
#include "config/schema.hpp"
#include "core/clock.hpp"
#include "core/host.hpp"
#include "core/metric_catalog.hpp"
#include "core/progress.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

std::string state_of(const std::optional<store::RunRow>& row) {
  if (!row) {
    return "new";
  }
  return std::string(to_text(row->status));
}

}  // namespace

std::string self_exe() {
  const auto path = core::self_executable();
  return path ? path->string() : "moexp";
}

void print_status_table(store::ResultStore& db, std::int64_t sweep_id, const std::string& name,
                        const std::string& metric_key) {
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

// Create the sweep's rows: pending runs for new configs, links for all; returns what is left to run.

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

int finish_sweep(store::ResultStore& db, std::int64_t sweep_id, const std::string& name, const SweepSummary& summary) {
  fmt::print("\n");
  print_status_table(db, sweep_id, name);
  if (summary.stopped) {
    fmt::print("stopped: running children were interrupted; run the same command again to continue\n");
    return 130;
  }
  return summary.failed > 0 ? 1 : 0;
}

EventPrinter::EventPrinter(std::size_t total) : m_total(total) {}

void EventPrinter::operator()(const ExecutorEvent& e) {
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

}  // namespace moexp::sweep
