// ResultStore: the results database. It opens (and migrates) one Database and serves it through four stores by
// concern (runs(), metrics(), routing(), sweeps()); what spans concerns in one transaction (an epoch, an evaluation,
// a resume) and the summaries that read all of them are its own. lib/store is the only code that speaks SQL.
#pragma once

#include "store/metric_store.hpp"
#include "store/open_mode.hpp"
#include "store/routing_store.hpp"
#include "store/run_store.hpp"
#include "store/sweep_store.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moexp::store {

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

// What one ResultStore::ingest_journal call applied.
struct JournalIngest {
  std::int64_t applied = 0;        // records applied by this call
  std::int64_t total = 0;          // records of the journal applied so far, this call's included
  std::uint64_t torn_bytes = 0;    // bytes after the last whole record, left for the next call
  std::optional<RunStatus> ended;  // the end this call applied, if any
};

// How far a run's journal has been applied (the journal_ingest row): nothing, 0 and "" before its first record.
struct JournalProgress {
  std::int64_t records = 0;      // records applied
  std::int64_t byte_offset = 0;  // the byte after the last applied record
  std::string file_id;           // the journal's file id
};

// The folder of run `run_id` next to the database at `db_path`: <db folder>/runs/<id> (checkpoint, logs, config).
std::filesystem::path run_folder(const std::filesystem::path& db_path, std::int64_t run_id);

// For a run id just created: a folder runs/<id> that already holds files belongs to another database (the id is new
// here), so it is renamed to runs/<id>.stale-<time> and never picked up. Returns the new name when it moved one.
std::optional<std::filesystem::path> set_aside_stale_folder(const std::filesystem::path& db_path, std::int64_t run_id);

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

  // The stores by concern, valid as long as this ResultStore.
  RunStore& runs() { return *m_runs; }
  MetricStore& metrics() { return *m_metrics; }
  RoutingStore& routing() { return *m_routing; }
  SweepStore& sweeps() { return *m_sweeps; }

  // Record one finished epoch of run `id` (named metrics and both splits' routing) in one transaction; also bumps
  // the run's epochs_done, wall_seconds and heartbeat.
  void record_epoch(std::int64_t id, const EpochRecord& record);

  // Store one evaluation setting of a run with its figures, per-class counts and routing statistics in one
  // transaction; returns its id.
  std::int64_t record_evaluation(const NewEvaluation& evaluation);

  // Put an existing run back to `running` (resume), recording the new process and device, and delete every
  // epoch row (and routing rows) after `keep_epochs`, in one transaction. With `claimed_by` (the sweep that started
  // this process), only while that sweep's claim is the row's: false, and nothing changed, when it was released.
  bool resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device, const std::string& host,
                  std::int64_t pid, std::optional<std::int64_t> claimed_by = std::nullopt);

  // Runs matching `filter` (and linked to `sweep_id` when given: those its current spec plans, or every linked run
  // with `include_unplanned`), by id, with their summaries.
  std::vector<RunSummary> run_summaries(const CompiledFilter& filter, std::optional<std::int64_t> sweep_id,
                                        bool include_unplanned = false);

  // Apply the records of run `id`'s journal `journal` (journal/run_journal.hpp) not applied yet — a start as
  // resume_run, epochs as record_epoch, the end as the run's status — each in one transaction with how far it got
  // (journal_ingest): exactly once, however often it is called, by however many processes, wherever it is
  // interrupted. A torn tail is left for the next call. Throws InputError at the first record it cannot apply (the
  // ones before it stay applied): a start that names another run or uid (another database's journal: its first
  // record, so nothing of it is applied), a journal that does not begin with a start, a malformed entry; and, applying
  // nothing, for a journal replaced by another file. A missing journal applies nothing.
  JournalIngest ingest_journal(std::int64_t id, const std::filesystem::path& journal);

  // How far run `id`'s journal has been applied.
  JournalProgress journal_progress(std::int64_t id);

  // SQLite's integrity check of the whole file: empty when it is sound, else its problem lines.
  std::vector<std::string> integrity_problems();

 private:
  std::unique_ptr<Database> m_db;
  std::unique_ptr<RunStore> m_runs;
  std::unique_ptr<MetricStore> m_metrics;
  std::unique_ptr<RoutingStore> m_routing;
  std::unique_ptr<SweepStore> m_sweeps;
};

}  // namespace moexp::store
