// SweepStore: sweeps and the runs they plan (sweeps, sweep_runs), attempts, and Slurm array tasks (slurm_tasks).
// Part of ResultStore (result_store.hpp), over its Database.
#pragma once

#include "core/attempt_outcome.hpp"
#include "core/run_status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp::store {

class Database;

// A run as a sweep sees it.
struct SweepRunRow {
  std::int64_t run_id = 0;
  std::int64_t position = 0;
  std::string label;
  RunStatus status = RunStatus::pending;
  std::optional<std::int64_t> pid;
  std::string host;
  std::string heartbeat_at;
  std::int64_t epochs_done = 0;
  std::int64_t attempts = 0;
  std::optional<double> metric;  // the requested metric (runs()) at the last stored epoch
  double wall_seconds = 0;
  std::string error;
  std::string slurm;    // latest Slurm task of the run, "A_i STATE" ("" when never submitted)
  bool planned = true;  // false: linked by an earlier version of the spec that planned it
};

// An array task of a Slurm submission (slurm_tasks).
struct SlurmTaskRow {
  std::int64_t id = 0;
  std::int64_t array_job_id = 0;
  std::int64_t task_index = 0;
  std::int64_t run_id = 0;
  std::string submitted_at;
  std::string state;       // last Slurm state seen ("SUBMITTED" before the first poll)
  std::string started_at;  // "" until seen running
};

struct AttemptRecord {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> sweep_id{};
  std::string started_at;
  double seconds = 0;
  std::string slot;
  std::optional<std::int64_t> exit_code{};
  std::optional<std::int64_t> signal{};
  AttemptOutcome outcome = AttemptOutcome::failed;  // stored as its text (to_text)
  std::string stderr_tail{};
};

class SweepStore {
 public:
  explicit SweepStore(Database& db) : m_db(db) {}

  // Create or refresh the sweep `name`; returns its id. find: the sweep called `name`, or nullopt.
  std::int64_t upsert(const std::string& name, const std::string& spec_path, const std::string& spec_hash);
  std::optional<std::int64_t> find(const std::string& name);

  // Planning a sweep anew: begin_plan marks every linked run unplanned, link_run marks each planned one again.
  void begin_plan(std::int64_t sweep_id);
  void link_run(std::int64_t sweep_id, std::int64_t run_id, std::int64_t position, const std::string& label);

  // The sweep's runs by position with their state; `metric_key` names the metric each row carries (its value at
  // the run's last stored epoch).
  std::vector<SweepRunRow> runs(std::int64_t sweep_id, const std::string& metric_key = "test_acc");

  // Record one ended attempt. attempt_count: all of a run's attempts; spent_attempts: those that spend the retry
  // budget (is_retryable outcomes: failed, timeout; an interrupted attempt spends none).
  void record_attempt(const AttemptRecord& attempt);
  std::int64_t attempt_count(std::int64_t run_id);
  std::int64_t spent_attempts(std::int64_t run_id);

  // Slurm: record the tasks of array `array_job_id` (task i runs run_ids[i]); read a sweep's open tasks (all open
  // tasks when `sweep_id` is nullopt); note a task's latest state; settle it with its outcome.
  void record_slurm_array(std::int64_t array_job_id, std::optional<std::int64_t> sweep_id, const std::string& script,
                          const std::vector<std::int64_t>& run_ids);
  std::vector<SlurmTaskRow> open_slurm_tasks(std::optional<std::int64_t> sweep_id);
  void update_slurm_task(std::int64_t id, const std::string& state, bool started);
  void settle_slurm_task(std::int64_t id, const std::string& state, AttemptOutcome outcome);

 private:
  Database& m_db;
};

}  // namespace moexp::store
