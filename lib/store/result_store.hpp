// ResultStore: the results database (runs, epoch metrics, routing statistics). The only code that speaks SQL.
#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moexp::store {

class Database;

// Run states. A run starts `running` and ends in one of the others.
inline constexpr const char* kRunning = "running";
inline constexpr const char* kFinished = "finished";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kDiverged = "diverged";
inline constexpr const char* kInterrupted = "interrupted";

struct NewRun {
  std::string name;
  std::string config_toml;  // canonical record form
  std::string config_hash;
  std::vector<std::pair<std::string, std::string>> params;  // dotted key -> canonical value text
  std::string device;
  std::string host;
  std::int64_t pid = 0;
};

struct RunRow {
  std::int64_t id = 0;
  std::string name;
  std::string config_toml;
  std::string config_hash;
  std::string status;
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
};

struct EpochRow {
  std::int64_t epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, aux_loss = 0, lr = 0, seconds = 0,
         images_per_s = 0;
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
  std::int64_t layer = 0;
  std::int64_t position = 0;
  std::int64_t samples = 0;
  double importance_cv = 0;
  double sample_cv = 0;
  std::int64_t living_experts = 0;
};

class ResultStore {
public:
  // Open (or create and migrate) the database at `path`. Throws StoreError.
  explicit ResultStore(const std::string& path);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  const std::string& path() const;

  // Insert a run in state `running`, started now; returns its id.
  std::int64_t create_run(const NewRun& run);

  // The run with `id`, or nullopt.
  std::optional<RunRow> find_run(std::int64_t id);

  // Put an existing run back to `running` (resume), recording the new process and device, and delete every
  // epoch row (and routing rows) after `keep_epochs`.
  void resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device, const std::string& host,
                  std::int64_t pid);

  // Record one finished epoch of run `id` (metrics and routing) in one transaction; also bumps epochs_done,
  // wall_seconds and the heartbeat.
  void record_epoch(std::int64_t id, const EpochRecord& record);

  // End run `id` with `status` (finished, failed, diverged, interrupted) and `error` text ("" for none).
  void finish_run(std::int64_t id, const std::string& status, const std::string& error = "");

  std::vector<EpochRow> epochs(std::int64_t id);
  std::vector<LayerStatRow> layer_stats(std::int64_t id);
  std::vector<ExpertStatRow> expert_stats(std::int64_t id);
  std::vector<std::pair<std::string, std::string>> params(std::int64_t id);

private:
  std::unique_ptr<Database> m_db;
};

} // namespace moexp::store
