// Where a training run records itself: the results database (a run on the database's host) or its journal in its run
// folder (a run a sweep started away from the database: it never opens the database; the sweep ingests the journal).
// Torch-free; run.cpp picks one per process.
#pragma once

#include "core/metrics.hpp"
#include "core/run_status.hpp"
#include "journal/run_journal.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace moexp::store {
class ResultStore;
}

namespace moexp::train {

class RunLedger {
 public:
  virtual ~RunLedger() = default;

  // Where each finished epoch goes.
  virtual MetricsSink& sink() = 0;

  // Record the run's end. Throws when it cannot be recorded (a full disk).
  virtual void finish(RunStatus status, const std::string& error) = 0;

  // Where the results are, for the run's last line ("results in results/moexp.db (run 3)").
  virtual std::string results_text() const = 0;

  // What continues the run after a failure that could not be recorded, for the error line.
  virtual std::string resume_hint() const = 0;
};

// The ledger on run `run_id` of `store` (db_path names it in messages).
std::unique_ptr<RunLedger> database_ledger(store::ResultStore& store, const std::string& db_path, std::int64_t run_id);

// The ledger on the journal in `folder` (folder/journal.bin), opened for appending (a torn tail a killed process
// left is cut first), with `start` (this process taking up the run) written and synced.
std::unique_ptr<RunLedger> journal_ledger(const std::filesystem::path& folder, const journal::JournalStart& start);

}  // namespace moexp::train
