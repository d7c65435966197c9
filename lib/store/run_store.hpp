// RunStore: the runs table with each run's parameters and classes (runs, run_params, run_classes), and the claims
// that keep two sweeps off one run. Part of ResultStore (result_store.hpp), over its Database.
#pragma once

#include "core/run_status.hpp"

#include <cstdint>
#include <optional>
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
  std::string name{};
  std::string config_toml{};  // canonical record form
  std::string config_hash{};
  std::vector<std::pair<std::string, std::string>> params{};  // dotted key -> canonical value text
  std::string device{};
  std::string host{};
  std::int64_t pid = 0;
  std::vector<ClassInfo> classes{};  // the dataset's classes, in label order
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
  std::string uid;         // random identity written into the run's checkpoints ("" before schema 4)
  std::string claim_host;  // the sweep process holding the claim ("" when none)
  std::optional<std::int64_t> claim_pid;
  std::string claim_started;  // its start time (core::process_start_id), against pid reuse
};

class RunStore {
 public:
  explicit RunStore(Database& db) : m_db(db) {}

  // Insert a run in state `running`, started now; returns its id.
  std::int64_t create(const NewRun& run);

  // Insert a run in state `pending` (planned by a sweep; `moexp train --resume` executes it); returns its id.
  std::int64_t create_pending(const NewRun& run);

  // Record the dataset's classes for run `id` when not recorded yet.
  void ensure_classes(std::int64_t id, const std::vector<ClassInfo>& classes);

  // Atomically move run `id` from (`status`, `pid`) to `running` with no process yet; false when another process
  // changed the row first (two sweeps never take the same run).
  // The claim names this process (host, pid, start time) and succeeds only while the row's claimer is still
  // `claim_pid` (so two sweeps taking over one crashed claim cannot both win).
  bool claim(std::int64_t id, RunStatus status, std::optional<std::int64_t> pid,
             std::optional<std::int64_t> claim_pid = std::nullopt);

  // Forget run `id`'s claim (its attempt is recorded).
  void release_claim(std::int64_t id);

  // The run with `id`, or nullopt.
  std::optional<RunRow> find(std::int64_t id);

  // The newest run whose config hash is `config_hash`, or nullopt.
  std::optional<RunRow> find_by_hash(const std::string& config_hash);

  // End run `id` with `status` (finished, failed, diverged, interrupted) and `error` text ("" for none).
  void finish(std::int64_t id, RunStatus status, const std::string& error = "");

  // Run `id`'s parameters (dotted key -> canonical value text), by key; its classes in label order.
  std::vector<std::pair<std::string, std::string>> params(std::int64_t id);
  std::vector<ClassInfo> classes(std::int64_t id);

  // Inside the caller's transaction: put run `id` back to `running` after `epochs_done` kept epochs, with the new
  // process and device, its wall time the sum of the kept epochs' `seconds` metric (ResultStore::resume_run).
  void restart(std::int64_t id, std::int64_t epochs_done, const std::string& device, const std::string& host,
               std::int64_t pid);

  // Whether run `id` is claimed by the sweep with pid `claim_pid` on `host`.
  bool claimed_by(std::int64_t id, std::int64_t claim_pid, const std::string& host);

  // The run's epochs_done (0 for an unknown run).
  std::int64_t epochs_done(std::int64_t id);

  // Inside the caller's transaction: epoch `epoch` of run `id` is stored, having taken `seconds`; bumps
  // epochs_done, wall_seconds and the heartbeat (ResultStore::record_epoch).
  void note_epoch(std::int64_t id, std::int64_t epoch, double seconds);

 private:
  Database& m_db;
};

}  // namespace moexp::store
