// ResultStore: the results database (runs, epoch metrics, routing statistics). The only code that speaks SQL.
#pragma once

#include "core/attempt_outcome.hpp"
#include "core/metrics.hpp"
#include "core/run_status.hpp"
#include "store/open_mode.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace moexp::store {

class Database;

struct ClassInfo {
  std::string name;
  std::int64_t superclass = 0;
  std::string superclass_name;
};

struct NewRun {
  std::string name;
  std::string config_toml;  // canonical record form
  std::string config_hash;
  std::vector<std::pair<std::string, std::string>> params;  // dotted key -> canonical value text
  std::string device;
  std::string host;
  std::int64_t pid = 0;
  std::vector<ClassInfo> classes;  // the dataset's classes, in label order
};

struct RunRow {
  std::int64_t id = 0;
  std::string name;
  std::string config_toml;
  std::string config_hash;
  RunStatus status = RunStatus::pending;  // runs.status, as text in the database
  std::string device;
  std::string host;
  std::optional<std::int64_t> pid;
  std::string moexp_version;
  std::string created_at;
  std::string started_at;
  std::string finished_at;
  std::string heartbeat_at;
  double wall_seconds = 0;
  std::int64_t epochs_done = 0;
  std::string error;
  std::string uid;                        // random identity written into the run's checkpoints ("" before schema 4)
  std::string claim_host;                 // the sweep process holding the claim ("" when none)
  std::optional<std::int64_t> claim_pid;
  std::string claim_started;              // its start time (core::process_start_id), against pid reuse
};

// One routing snapshot: a training epoch's split, or an evaluation.
struct SnapshotRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> epoch;          // training snapshots
  std::string split;
  std::optional<std::int64_t> evaluation_id;  // evaluation snapshots
};

struct ExpertStatRow {
  std::int64_t epoch = 0;
  std::string split;
  std::int64_t layer = 0;
  std::int64_t expert = 0;
  double importance_share = 0;
  double sample_share = 0;
};

struct LayerStatRow {
  std::int64_t epoch = 0;
  std::string split;
  LayerRouting routing;  // the layer's summary fields (no shares, matrices or co-activation)
};

struct NewEvaluation {
  std::int64_t run_id = 0;
  std::string checkpoint;
  std::int64_t checkpoint_epoch = 0;
  std::string split;    // train | test
  std::string setting;  // "trained", "k=N", "expert=I", "uniform"
  std::optional<std::int64_t> k;
  std::optional<std::int64_t> forced_expert;
  bool uniform = false;
  std::int64_t samples = 0;
  std::map<std::string, double> metrics;  // named figures on `split`: "loss", "acc", "top5_acc", ...
  std::vector<std::int64_t> class_samples;
  std::vector<std::int64_t> class_correct;
  std::vector<LayerRouting> routing;
};

struct EvaluationRow {
  std::int64_t id = 0;
  std::string setting;
  std::string split;
  std::int64_t samples = 0;
  std::map<std::string, double> metrics;  // name -> value, as recorded
};

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
  std::optional<double> metric;  // the requested metric (sweep_runs) at the last stored epoch
  double wall_seconds = 0;
  std::string error;
  std::string slurm;  // latest Slurm task of the run, "A_i STATE" ("" when never submitted)
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
  std::optional<std::int64_t> sweep_id;
  std::string started_at;
  double seconds = 0;
  std::string slot;
  std::optional<std::int64_t> exit_code;
  std::optional<std::int64_t> signal;
  AttemptOutcome outcome = AttemptOutcome::failed;  // stored as its text (to_text)
  std::string stderr_tail;
};

// A run reduced to what reports and listings show: config values and final metrics.
struct RunSummary {
  std::int64_t id = 0;
  std::string name;
  RunStatus status = RunStatus::pending;
  std::map<std::string, std::string> params;  // dotted key -> TOML value text
  double wall_seconds = 0;
  std::int64_t epochs_done = 0;
  // Metric key -> value: every named metric of the final stored epoch ("test_acc", "aux_loss", ...), "best_test_acc"
  // (the best test accuracy of any epoch) and the final epoch's test routing averaged over MoE layers
  // ("importance_cv", "sample_cv", "living_experts", "superclass_mi", "superclass_mi_control"; absent when dense).
  std::map<std::string, double> metrics;

  // metrics[key], or nullopt.
  std::optional<double> metric(const std::string& key) const;
};

struct CompiledFilter;

// The folder of run `run_id` next to the database at `db_path`: <db folder>/runs/<id> (checkpoint, logs, config).
std::filesystem::path run_folder(const std::filesystem::path& db_path, std::int64_t run_id);

// For a run id just created: a folder runs/<id> that already holds files belongs to another database (the id is new
// here), so it is renamed to runs/<id>.stale-<time> and never picked up. Returns the new name when it moved one.
std::optional<std::filesystem::path> set_aside_stale_folder(const std::filesystem::path& db_path,
                                                            std::int64_t run_id);

class ResultStore {
public:
  // Open (or create and migrate) the database at `path`; read_only opens an existing moexp database as it is (no
  // migration). Throws InputError for a path that cannot be a database (empty, a folder, a device) or, read-only,
  // a file that is not a moexp database; StoreError for SQLite failures and schema versions it cannot read.
  explicit ResultStore(const std::string& path, OpenMode mode = OpenMode::read_write);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;
  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;

  const std::string& path() const;

  // Insert a run in state `running`, started now; returns its id.
  std::int64_t create_run(const NewRun& run);

  // Insert a run in state `pending` (planned by a sweep; `moexp train --resume` executes it); returns its id.
  std::int64_t create_pending_run(const NewRun& run);

  // Record the dataset's classes for run `id` when not recorded yet.
  void ensure_run_classes(std::int64_t id, const std::vector<ClassInfo>& classes);

  // Atomically move run `id` from (`status`, `pid`) to `running` with no process yet; false when another process
  // changed the row first (two sweeps never take the same run).
  // The claim names this process (host, pid, start time) and succeeds only while the row's claimer is still
  // `claim_pid` (so two sweeps taking over one crashed claim cannot both win).
  bool claim_run(std::int64_t id, RunStatus status, std::optional<std::int64_t> pid,
                 std::optional<std::int64_t> claim_pid = std::nullopt);

  // Forget run `id`'s claim (its attempt is recorded).
  void release_claim(std::int64_t id);

  // Sweeps: create or refresh the sweep `name`; link a planned run to it; read its runs with their state.
  std::int64_t upsert_sweep(const std::string& name, const std::string& spec_path, const std::string& spec_hash);
  std::optional<std::int64_t> find_sweep(const std::string& name);
  // Planning a sweep anew: begin_plan marks every linked run unplanned, link_sweep_run marks each planned one again.
  void begin_plan(std::int64_t sweep_id);
  void link_sweep_run(std::int64_t sweep_id, std::int64_t run_id, std::int64_t position, const std::string& label);
  // `metric_key` names the metric each row carries (its value at the run's last stored epoch).
  std::vector<SweepRunRow> sweep_runs(std::int64_t sweep_id, const std::string& metric_key = "test_acc");
  void record_attempt(const AttemptRecord& attempt);
  std::int64_t attempt_count(std::int64_t run_id);

  // Slurm: record the tasks of array `array_job_id` (task i runs run_ids[i]); read a sweep's open tasks (all open
  // tasks when `sweep_id` is nullopt); note a task's latest state; settle it with its outcome.
  void record_slurm_array(std::int64_t array_job_id, std::optional<std::int64_t> sweep_id, const std::string& script,
                          const std::vector<std::int64_t>& run_ids);
  std::vector<SlurmTaskRow> open_slurm_tasks(std::optional<std::int64_t> sweep_id);
  void update_slurm_task(std::int64_t id, const std::string& state, bool started);
  void settle_slurm_task(std::int64_t id, const std::string& state, AttemptOutcome outcome);

  // Runs matching `filter` (and linked to `sweep_id` when given: those its current spec plans, or every linked run
  // with `include_unplanned`), by id, with their summaries.
  std::vector<RunSummary> run_summaries(const CompiledFilter& filter, std::optional<std::int64_t> sweep_id,
                                        bool include_unplanned = false);

  // The run with `id`, or nullopt.
  std::optional<RunRow> find_run(std::int64_t id);

  // SQLite's integrity check of the whole file: empty when it is sound, else its problem lines.
  std::vector<std::string> integrity_problems();

  // Put an existing run back to `running` (resume), recording the new process and device, and delete every
  // epoch row (and routing rows) after `keep_epochs`.
  void resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device, const std::string& host,
                  std::int64_t pid);

  // Record one finished epoch of run `id` (metrics and routing) in one transaction; also bumps epochs_done,
  // wall_seconds and the heartbeat.
  void record_epoch(std::int64_t id, const EpochRecord& record);

  // End run `id` with `status` (finished, failed, diverged, interrupted) and `error` text ("" for none).
  void finish_run(std::int64_t id, RunStatus status, const std::string& error = "");

  // The newest run whose config hash is `config_hash`, or nullopt.
  std::optional<RunRow> find_run_by_hash(const std::string& config_hash);

  // Store one evaluation setting of a run with its per-class accuracy and routing statistics; returns its id.
  std::int64_t record_evaluation(const NewEvaluation& evaluation);

  // Run `id`'s epochs in order, with their named metrics (routing is not read: see snapshots).
  std::vector<EpochRecord> epochs(std::int64_t id);

  // The last stored value of metric `key` ("test_acc") for run `id` and the epoch it is from, or nullopt; one short
  // walk back from the run's last epoch (for displays that redraw every second).
  std::optional<std::pair<std::int64_t, double>> last_metric(std::int64_t id, const std::string& key);
  // The key of every metric stored for any epoch of any run ("test_acc", "lr", ...), sorted.
  std::vector<std::string> metric_keys();
  std::vector<LayerStatRow> layer_stats(std::int64_t id);    // training snapshots, by epoch, split, layer
  std::vector<ExpertStatRow> expert_stats(std::int64_t id);  // training snapshots, by epoch, split, layer, expert
  std::vector<std::pair<std::string, std::string>> params(std::int64_t id);
  std::vector<ClassInfo> classes(std::int64_t id);
  std::vector<EvaluationRow> evaluations(std::int64_t run_id);

  // Snapshots of run `id` (training epochs and evaluations), and the full statistics of one snapshot.
  std::vector<SnapshotRow> snapshots(std::int64_t id);
  std::vector<LayerRouting> snapshot_routing(std::int64_t snapshot_id);

private:
  // Insert a snapshot row and all of `layers`' statistics (inside the caller's transaction).
  void write_snapshot(std::int64_t run_id, std::optional<std::int64_t> epoch, const std::string& split,
                      std::optional<std::int64_t> evaluation_id, const std::vector<LayerRouting>& layers);
  // The id of group kind `kind` in group_kinds, registered on first use (inside the caller's transaction).
  std::int64_t group_kind_id(const std::string& kind);

  std::unique_ptr<Database> m_db;
  std::set<std::pair<std::string, std::string>> m_registered_metrics;  // (split, name) in metric_names, this session
};

} // namespace moexp::store
