#include "sweep/local/executor.hpp"
#include "sweep/settle.hpp"

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <chrono>
#include <csignal>
#include <cstdint>

namespace moexp::sweep {

namespace {

using time_point = SweepClock::time_point;

// A claim's owner is this process (its claim is being worked on right now).
bool claimed_by_me(const store::RunRow& row) {
  return row.claim_pid && *row.claim_pid == static_cast<std::int64_t>(::getpid()) &&
         row.claim_host == core::host_name();
}

}  // namespace

bool held_by_live_process(const store::RunRow& row) {
  if (row.status != RunStatus::running) {
    return false;
  }
  if (row.pid) {
    return core::process_alive(row.host, *row.pid);  // the child runs
  }
  // Claimed, child not started yet: held while the claiming sweep lives. A claim nobody can name (before schema 4)
  // or whose owner is gone crashed before its child started.
  return row.claim_pid && core::process_alive_since(row.claim_host, *row.claim_pid, row.claim_started);
}

bool reconcile_orphaned_claim(store::ResultStore& store, const store::RunRow& row,
                              std::optional<std::int64_t> sweep_id) {
  if (!row.claim_pid || claimed_by_me(row) ||
      core::process_alive_since(row.claim_host, *row.claim_pid, row.claim_started)) {
    return false;  // no claim, or its sweep still runs and will record the attempt itself
  }
  if (row.status == RunStatus::running && row.pid && core::process_alive(row.host, *row.pid)) {
    return false;  // the orphaned child still runs: reconciled once it has ended
  }
  // A run that recorded its end keeps it as the attempt's outcome.
  AttemptOutcome outcome = outcome_of_status(row.status).value_or(AttemptOutcome::interrupted);
  if (row.status == RunStatus::running || row.status == RunStatus::pending) {
    // The child never started, or ended with its sweep (PR_SET_PDEATHSIG) before it could record anything: the
    // orchestrator's death, not the run's fault. Interrupted: resumed from its checkpoint, no retry spent.
    outcome = AttemptOutcome::interrupted;
    store.runs().finish(row.id, RunStatus::interrupted, std::string(kOrphanedRunError));
  }
  store.sweeps().record_attempt(
      {.run_id = row.id,
       .sweep_id = sweep_id,
       .started_at = row.started_at.empty() ? row.heartbeat_at : row.started_at,
       .slot = "reconciled",
       .outcome = outcome,
       .stderr_tail = "recorded by a later sweep: the sweep that started this attempt was gone when it ended"});
  store.runs().release_claim(row.id);
  return true;
}

std::size_t reconcile_orphaned_claims(store::ResultStore& store, const std::vector<std::int64_t>& run_ids,
                                      std::optional<std::int64_t> sweep_id) {
  std::size_t reconciled = 0;
  for (auto id : run_ids) {
    if (auto row = store.runs().find(id); row && reconcile_orphaned_claim(store, *row, sweep_id)) {
      ++reconciled;
    }
  }
  return reconciled;
}

std::size_t reconcile_orphaned_claims(store::ResultStore& store, const std::string& db_path,
                                      const std::vector<std::int64_t>& run_ids, std::optional<std::int64_t> sweep_id) {
  for (auto id : run_ids) {
    ingest_run_journal_or_warn(store, db_path, id);
  }
  return reconcile_orphaned_claims(store, run_ids, sweep_id);
}

std::vector<Slot> make_slots(std::int64_t jobs, const std::vector<std::int64_t>& gpus, std::int64_t per_gpu) {
  std::vector<Slot> slots;
  if (gpus.empty()) {
    for (std::int64_t i = 0; i < std::max<std::int64_t>(1, jobs); ++i) {
      slots.push_back({fmt::format("cpu{}", i), std::nullopt});
    }
    return slots;
  }
  for (auto gpu : gpus) {
    for (std::int64_t j = 0; j < std::max<std::int64_t>(1, per_gpu); ++j) {
      slots.push_back({fmt::format("gpu{}.{}", gpu, j), gpu});
    }
  }
  return slots;
}

Executor::Executor(Launcher& launcher, store::ResultStore& store, ExecutorOptions options,
                   std::function<void(const ExecutorEvent&)> on_event)
    : m_launcher(launcher),
      m_store(store),
      m_options(std::move(options)),
      m_clock(m_options.clock != nullptr ? *m_options.clock : steady_clock()),
      m_on_event(std::move(on_event)),
      m_last_wait_check(m_clock.now()) {}

bool Executor::try_start(const WorkItem& item, const Slot& slot, SweepSummary& summary) {
  ingest_run_journal_or_warn(m_store, m_options.db_path, item.run_id);
  auto row = m_store.runs().find(item.run_id);
  if (row && reconcile_orphaned_claim(m_store, *row, m_options.sweep_id)) {
    // Its sweep died: the attempt it left (also one that ended well while no sweep was alive to record it) is
    // recorded and the claim released.
    row = m_store.runs().find(item.run_id);
  }
  if (!row || row->status == RunStatus::finished || row->status == RunStatus::diverged) {
    ++summary.skipped;
    return false;
  }
  if (held_by_live_process(*row) || !m_store.runs().claim(item.run_id, row->status, row->pid, row->claim_pid)) {
    m_waiting.push_back(item);  // another process has it; look again later
    if (m_on_event) {
      m_on_event(
          {ExecutorEvent::Kind::waiting, item.run_id, item.label, slot.name, AttemptOutcome::finished, 0, false});
    }
    return false;
  }
  const auto dir = store::run_folder(m_options.db_path, item.run_id);
  std::filesystem::create_directories(dir);
  LaunchRequest request;
  request.argv = {m_options.moexp_exe, "train", "--resume", std::to_string(item.run_id)};
  if (m_options.journal) {
    write_run_setup(m_options.db_path, *row);
    request.argv.insert(request.argv.end(), {"--run-folder", dir.string()});
  } else {
    request.argv.insert(request.argv.end(), {"--db", m_options.db_path, "--claimed-by", std::to_string(::getpid())});
  }
  request.argv.insert(request.argv.end(), {"--device", slot.gpu ? "cuda:0" : "cpu"});
  if (slot.gpu) {
    request.env.emplace_back("CUDA_VISIBLE_DEVICES", std::to_string(*slot.gpu));
  }
  request.stdout_path = dir / "stdout.log";
  request.stderr_path = dir / "stderr.log";
  Active job;
  job.item = item;
  job.slot = &slot;
  job.started = m_clock.now();
  job.started_at = core::now_iso8601();
  try {
    job.job = m_launcher.start(request);
  } catch (const std::exception& e) {
    m_store.runs().finish(item.run_id, RunStatus::failed, e.what());
    m_store.sweeps().record_attempt({.run_id = item.run_id,
                                     .sweep_id = m_options.sweep_id,
                                     .started_at = job.started_at,
                                     .slot = slot.name,
                                     .outcome = AttemptOutcome::failed,
                                     .stderr_tail = e.what()});
    m_store.runs().release_claim(item.run_id);
    summary.count(AttemptOutcome::failed, Retry::no);
    return false;
  }
  m_active.push_back(job);
  if (m_on_event) {
    m_on_event({ExecutorEvent::Kind::started, item.run_id, item.label, slot.name, AttemptOutcome::finished, 0, false});
  }
  return true;
}

void Executor::finish(const Active& job, const JobExit& exit, Retry retry, std::vector<WorkItem>& retries,
                      SweepSummary& summary) {
  const double seconds = std::chrono::duration<double>(m_clock.now() - job.started).count();
  auto tail = core::file_tail(store::run_folder(m_options.db_path, job.item.run_id) / "stderr.log");
  const auto journal_error = ingest_run_journal(m_store, m_options.db_path, job.item.run_id);
  if (journal_error) {
    tail += "\n" + *journal_error;  // the why of the failed attempt (below)
  }
  auto row = m_store.runs().find(job.item.run_id);
  const RunStatus status = row ? row->status : RunStatus::failed;
  AttemptOutcome outcome = AttemptOutcome::failed;
  if (status == RunStatus::finished && exit.exit_code == 0) {
    outcome = AttemptOutcome::finished;
  } else if (status == RunStatus::diverged) {
    outcome = AttemptOutcome::diverged;
  } else if (job.timed_out) {
    outcome = AttemptOutcome::timeout;
  } else if (m_cancelled || status == RunStatus::interrupted) {
    outcome = AttemptOutcome::interrupted;
  }
  const std::string why = outcome == AttemptOutcome::timeout
                              ? fmt::format("timed out after {:.0f} s", m_options.timeout_s)
                          : exit.signal ? fmt::format("killed by signal {}", *exit.signal)
                                        : core::last_line(tail);
  const EndedAttempt ended{job.item,
                           job.slot->name,
                           job.started_at,
                           seconds,
                           exit.exit_code ? std::optional<std::int64_t>(*exit.exit_code) : std::nullopt,
                           exit.signal ? std::optional<std::int64_t>(*exit.signal) : std::nullopt,
                           outcome,
                           tail,
                           why};
  const SettleRules rules{m_store.runs(), m_store.sweeps(), m_options.sweep_id, m_options.retries, m_on_event};
  if (settle_attempt(rules, ended, retry, summary, [&] { m_store.runs().release_claim(job.item.run_id); })) {
    retries.push_back(job.item);
  }
}

SweepSummary Executor::run(std::vector<WorkItem> queue, const std::atomic<bool>& stop) {
  DriveOptions options;
  options.db_path = m_options.db_path;
  options.poll = m_options.poll;
  options.on_tick = m_options.on_tick;
  options.clock = &m_clock;
  return drive(*this, m_store, std::move(queue), stop, options);
}

void Executor::submit(const std::vector<WorkItem>& items) {
  m_queue.insert(m_queue.end(), items.begin(), items.end());
}

std::vector<WorkItem> Executor::poll(Retry retry, SweepSummary& summary) {
  std::vector<WorkItem> retries;
  for (const auto& exit : m_exits) {
    auto it = std::find_if(m_active.begin(), m_active.end(), [&](const Active& a) { return a.job == exit.job; });
    if (it != m_active.end()) {
      const Active job = *it;
      m_active.erase(it);
      finish(job, exit, retry, retries, summary);
    }
  }
  m_exits.clear();
  if (!m_cancelled) {
    // Fill free slots in order.
    for (const auto& slot : m_options.slots) {
      const bool busy = std::any_of(m_active.begin(), m_active.end(), [&](const Active& a) { return a.slot == &slot; });
      while (!busy && m_next < m_queue.size()) {
        if (try_start(m_queue[m_next++], slot, summary)) {
          break;
        }
      }
    }
    // Runs another process held: take them back once it let go.
    if (!m_waiting.empty() && m_clock.now() - m_last_wait_check > std::chrono::seconds(1)) {
      m_last_wait_check = m_clock.now();
      std::vector<WorkItem> still;
      for (const auto& item : m_waiting) {
        auto row = m_store.runs().find(item.run_id);
        (row && held_by_live_process(*row) ? still : m_queue).push_back(item);
      }
      m_waiting = std::move(still);
    }
  }
  apply_timeouts();
  return retries;
}

void Executor::apply_timeouts() {
  // SIGTERM at the limit, SIGKILL after the grace period.
  const auto now = m_clock.now();
  for (auto& job : m_active) {
    const double elapsed = std::chrono::duration<double>(now - job.started).count();
    if (m_options.timeout_s > 0 && !job.terminated && elapsed > m_options.timeout_s) {
      m_launcher.signal(job.job, SIGTERM);
      job.terminated = job.timed_out = true;
      job.terminated_at = now;
    }
    if (job.terminated && !job.killed &&
        std::chrono::duration<double>(now - job.terminated_at).count() > m_options.grace_s) {
      m_launcher.signal(job.job, SIGKILL);
      job.killed = true;
    }
  }
}

void Executor::wait(std::chrono::milliseconds duration, const std::atomic<bool>& /*stop*/) {
  if (m_active.empty()) {
    m_clock.sleep_for(duration);
  } else if (auto exit = m_launcher.wait_any(duration)) {
    m_exits.push_back(*exit);
  }
}

void Executor::cancel() {
  m_cancelled = true;
  for (auto& job : m_active) {
    m_launcher.signal(job.job, SIGTERM);
    job.terminated = true;
    job.terminated_at = m_clock.now();
  }
}

std::size_t Executor::reconcile(const std::vector<std::int64_t>& run_ids, SweepSummary& /*summary*/) {
  return reconcile_orphaned_claims(m_store, m_options.db_path, run_ids, m_options.sweep_id);
}

std::set<std::int64_t> Executor::in_flight() {
  std::set<std::int64_t> runs;
  for (const auto& job : m_active) {
    runs.insert(job.item.run_id);
  }
  return runs;
}

bool Executor::idle() {
  return m_active.empty() && m_exits.empty() && (m_cancelled || (m_next >= m_queue.size() && m_waiting.empty()));
}

}  // namespace moexp::sweep
