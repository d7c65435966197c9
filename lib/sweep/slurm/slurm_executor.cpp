#include "sweep/slurm/slurm_executor.hpp"
#include "sweep/settle.hpp"

#include "core/atomic_file.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "sweep/slurm/slurm_submission.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <thread>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

using clock = std::chrono::steady_clock;

}  // namespace

SlurmExecutor::SlurmExecutor(SlurmClient& slurm, store::ResultStore& store, SlurmExecutorOptions options,
                             std::function<void(const ExecutorEvent&)> on_event)
    : m_slurm(slurm), m_store(store), m_options(std::move(options)), m_on_event(std::move(on_event)) {
  if (m_options.sweep_id) {
    for (const auto& row : m_store.sweeps().runs(*m_options.sweep_id)) {
      m_labels[row.run_id] = row.label;
    }
  }
}

std::string SlurmExecutor::label_of(std::int64_t run_id) {
  auto it = m_labels.find(run_id);
  return it == m_labels.end() ? "" : it->second;
}

std::pair<std::vector<std::string>, std::string> SlurmExecutor::submission(const std::vector<WorkItem>& items) const {
  ArrayJob job;
  job.sweep_name = m_options.sweep_name;
  for (const auto& item : items) {
    job.run_ids.push_back(item.run_id);
  }
  job.moexp_exe = m_options.moexp_exe;
  job.db_path = m_options.db_path;
  job.log_dir = slurm_log_dir(m_options.db_path, m_options.sweep_name);
  job.device = slurm_device(m_options.slurm);
  // A fresh script name per submission: the previous ones stay as the record of what was submitted.
  fs::path script;
  for (int n = 1;; ++n) {
    script = job.log_dir / fmt::format("submit-{}.sh", n);
    if (!fs::exists(script)) {
      break;
    }
  }
  return {sbatch_arguments(job, m_options.slurm, m_options.timeout_s, script), batch_script(job)};
}

std::int64_t SlurmExecutor::submit_array(const std::vector<WorkItem>& items) {
  auto [args, script_text] = submission(items);
  const fs::path script = args.back();
  fs::create_directories(script.parent_path());  // sbatch fails the tasks (JobLaunchFailure) without it
  core::write_file_atomic(script, script_text);
  fs::permissions(script, fs::perms::owner_exec, fs::perm_options::add);
  std::vector<std::int64_t> run_ids;
  for (const auto& item : items) {
    fs::create_directories(store::run_folder(m_options.db_path, item.run_id));
    if (const auto row = m_store.runs().find(item.run_id)) {
      write_run_setup(m_options.db_path, *row);  // what the task reads instead of the database
    }
    run_ids.push_back(item.run_id);
    m_labels[item.run_id] = item.label;
  }
  const auto array_job_id = m_slurm.submit(args);
  m_store.sweeps().record_slurm_array(array_job_id, m_options.sweep_id, script.string(), run_ids);
  return array_job_id;
}

std::set<std::int64_t> SlurmExecutor::in_flight() {
  std::set<std::int64_t> runs;
  for (const auto& task : m_store.sweeps().open_slurm_tasks(m_options.sweep_id)) {
    runs.insert(task.run_id);
  }
  return runs;
}

void SlurmExecutor::settle(const store::SlurmTaskRow& task, const std::optional<slurm::TaskRecord>& record,
                           AttemptOutcome outcome, std::optional<TaskExit> exit,
                           const std::optional<std::string>& journal_error, Retry retry, std::vector<WorkItem>& retries,
                           SweepSummary& summary) {
  const auto dir = store::run_folder(m_options.db_path, task.run_id);
  const auto tail = core::file_tail(dir / "stderr.log");
  const std::string state = record ? record->state : "GONE";
  double seconds = exit ? exit->seconds : 0;
  if (!exit && !task.started_at.empty()) {
    seconds = core::seconds_since_iso8601(task.started_at);
  }
  std::optional<std::int64_t> code = exit ? std::optional<std::int64_t>(exit->code) : std::nullopt;
  std::optional<std::int64_t> sig;
  const bool never_ran = task.started_at.empty() && record && record->state == "CANCELLED";
  if (!code && record && !never_ran) {
    code = record->exit_code;
    sig = record->signal;
  }
  const std::string why =
      journal_error ? *journal_error
      : outcome == AttemptOutcome::timeout
          ? fmt::format("Slurm ended task {}_{}: time limit", task.array_job_id, task.task_index)
      : outcome == AttemptOutcome::interrupted
          ? fmt::format("Slurm task {}_{} cancelled", task.array_job_id, task.task_index)
      : !core::last_line(tail).empty()
          ? core::last_line(tail)
          : fmt::format(
                "Slurm task {}_{} ended {}{}", task.array_job_id, task.task_index, state,
                record && !record->reason.empty() && record->reason != "None" ? " (" + record->reason + ")" : "");
  const EndedAttempt ended{{task.run_id, label_of(task.run_id)},
                           fmt::format("slurm {}_{}", task.array_job_id, task.task_index),
                           task.started_at.empty() ? task.submitted_at : task.started_at,
                           seconds,
                           code,
                           sig,
                           outcome,
                           tail,
                           why};
  const SettleRules rules{m_store.runs(), m_store.sweeps(), m_options.sweep_id, m_options.retries, m_on_event};
  if (settle_attempt(rules, ended, retry, summary,
                     [&] { m_store.sweeps().settle_slurm_task(task.id, state, outcome); })) {
    retries.push_back(ended.item);
  }
}

std::vector<WorkItem> SlurmExecutor::poll_once(Retry retry, SweepSummary& summary) {
  std::vector<WorkItem> retries;
  std::map<std::int64_t, std::optional<std::vector<slurm::TaskRecord>>> arrays;
  for (const auto& task : m_store.sweeps().open_slurm_tasks(m_options.sweep_id)) {
    auto known = arrays.find(task.array_job_id);
    if (known == arrays.end()) {
      known = arrays.emplace(task.array_job_id, m_slurm.tasks(task.array_job_id)).first;
    }
    if (!known->second) {
      continue;  // Slurm could not be asked this round
    }
    std::optional<slurm::TaskRecord> record;
    for (const auto& r : *known->second) {
      if (r.task == task.task_index || (r.task == -1 && !record)) {
        record = r;
      }
    }
    TaskEvidence evidence;
    evidence.record = record;
    evidence.cancelled = m_cancelled.count(task.array_job_id) > 0;
    if (!record || slurm::is_terminal(record->state)) {  // it may have ended: judge it by all the evidence
      evidence.exit = read_exit_file(
          exit_file(store::run_folder(m_options.db_path, task.run_id), task.array_job_id, task.task_index));
      const auto journal_error = ingest_run_journal(m_store, m_options.db_path, task.run_id);
      auto row = m_store.runs().find(task.run_id);
      evidence.run_status = row ? row->status : RunStatus::failed;
      if (auto outcome = task_outcome(evidence)) {
        settle(task, record, *outcome, evidence.exit, journal_error, retry, retries, summary);
        continue;
      }
    }
    const bool running = record && record->state == "RUNNING";
    if (record && record->state != task.state) {
      m_store.sweeps().update_slurm_task(task.id, record->state, running);
      if (running && task.started_at.empty() && m_on_event) {
        m_on_event({ExecutorEvent::Kind::started, task.run_id, label_of(task.run_id),
                    fmt::format("slurm {}_{}", task.array_job_id, task.task_index), AttemptOutcome::finished, 0,
                    false});
      }
    }
  }
  return retries;
}

SweepSummary SlurmExecutor::watch(const std::atomic<bool>& stop) {
  DriveOptions options;
  options.db_path = m_options.db_path.string();
  options.poll = m_options.poll;
  options.ingest_every = m_options.poll;  // each round: Slurm's poll interval is long already
  return drive(*this, m_store, {}, stop, options);
}

void SlurmExecutor::submit(const std::vector<WorkItem>& items) {
  submit_array(items);
}

std::vector<WorkItem> SlurmExecutor::poll(Retry retry, SweepSummary& summary) {
  auto retries = poll_once(retry, summary);
  if (m_cancel_deadline && clock::now() > *m_cancel_deadline) {
    for (const auto& task : m_store.sweeps().open_slurm_tasks(m_options.sweep_id)) {
      std::vector<WorkItem> none;  // Slurm never confirmed the cancel: record what we know
      settle(task, std::nullopt, AttemptOutcome::interrupted, std::nullopt, std::nullopt, Retry::no, none, summary);
    }
  }
  return retries;
}

void SlurmExecutor::wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  const bool stopping = stop.load();
  for (auto waited = std::chrono::milliseconds(0); waited < duration && stop.load() == stopping;
       waited += std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void SlurmExecutor::cancel() {
  std::set<std::int64_t> arrays;
  for (const auto& task : m_store.sweeps().open_slurm_tasks(m_options.sweep_id)) {
    arrays.insert(task.array_job_id);
  }
  for (auto array : arrays) {
    m_slurm.cancel(array);
    m_cancelled.insert(array);
  }
  m_cancel_deadline = clock::now() + m_options.cancel_wait;
}

std::size_t SlurmExecutor::reconcile(const std::vector<std::int64_t>& /*run_ids*/, SweepSummary& summary) {
  const auto before = summary.attempts;
  poll_once(Retry::no, summary);  // every open task of the sweep, whichever runs they are for
  return static_cast<std::size_t>(summary.attempts - before);
}

bool SlurmExecutor::idle() {
  return m_store.sweeps().open_slurm_tasks(m_options.sweep_id).empty();
}

}  // namespace moexp::sweep
