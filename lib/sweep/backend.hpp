// What every sweep backend is to the sweep: a place where attempts at runs go (submit), that the sweep looks at
// (poll, wait), can call back (cancel) and can ask about attempts that ended while no sweep watched (reconcile). The
// loop that drives a backend — retries resubmitted, journals of runs in flight ingested, a stop turned into a
// cancel — is written once (drive), as are the settle rules (settle.hpp). A backend: the local slot Executor
// (executor.hpp), the SlurmExecutor (slurm_executor.hpp); each is one line of the registry in run_sweep.cpp.
#pragma once

#include "core/attempt_outcome.hpp"
#include "store/result_store.hpp"
#include "sweep/sweep_clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace moexp::sweep {

struct WorkItem {
  std::int64_t run_id = 0;
  std::string label;
};

// Whether a run is retried: as a permission (Retry::yes: a retryable outcome may be retried within the budget; no: the
// sweep is stopping or only settling what ended) and as the decision an attempt was counted with.
enum class Retry { no, yes };

// One line of news from a backend, for the display.
struct ExecutorEvent {
  enum class Kind { started, ended, waiting } kind = Kind::started;
  std::int64_t run_id = 0;
  std::string label;
  std::string slot;
  AttemptOutcome outcome = AttemptOutcome::finished;  // ended events only
  double seconds = 0;
  bool will_retry = false;
};

struct SweepSummary {
  std::int64_t finished = 0, failed = 0, diverged = 0, interrupted = 0, skipped = 0;
  std::int64_t attempts = 0;
  bool stopped = false;  // the stop flag ended the sweep early

  // Count one ended attempt; a failed or timed-out one counts as failed only when it will not be retried.
  void count(AttemptOutcome outcome, Retry retry);
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Take `items` to run: the local backend queues them for its slots, Slurm submits them as one array. Throws
  // moexp::Error when the scheduler refuses them (nothing is recorded then).
  virtual void submit(const std::vector<WorkItem>& items) = 0;

  // One round: start what can start now, settle the attempts that ended (settle_attempt; a run's journal is ingested
  // before its attempt is judged) and return the runs to retry (only with Retry::yes).
  virtual std::vector<WorkItem> poll(Retry retry, SweepSummary& summary) = 0;

  // Wait at most `duration` for news (a child's exit; Slurm is simply asked again later), returning early when `stop`
  // changes.
  virtual void wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop) = 0;

  // Ask every attempt in flight to end (SIGTERM, scancel) and start nothing more; later polls settle them as
  // interrupted.
  virtual void cancel() = 0;

  // Record the attempts at `run_ids` that ended while no sweep watched them (a dead sweep's claims, Slurm tasks that
  // ended); returns how many were recorded.
  virtual std::size_t reconcile(const std::vector<std::int64_t>& run_ids, SweepSummary& summary) = 0;

  // Runs with an attempt queued or running in this backend.
  virtual std::set<std::int64_t> in_flight() = 0;

  // Nothing queued, nothing in flight: the sweep is done with this backend.
  virtual bool idle() = 0;
};

// Apply what run `run_id`'s journal (in its folder beside the database at `db_path`) holds that the database does not
// yet (ResultStore::ingest_journal; nothing when it has no journal). Returns the one-line error of a journal that
// cannot be applied (another database's, damaged), or nullopt.
std::optional<std::string> ingest_run_journal(store::ResultStore& store, const std::string& db_path,
                                              std::int64_t run_id);

// ingest_run_journal, printing a refused journal's line as a warning on stderr (for callers that go on regardless).
void ingest_run_journal_or_warn(store::ResultStore& store, const std::string& db_path, std::int64_t run_id);

// Write what a journal-writing child needs into run `row`'s folder (config.toml, run.uid), atomically.
void write_run_setup(const std::string& db_path, const store::RunRow& row);

struct DriveOptions {
  std::string db_path;                           // whose run folders hold the journals
  std::chrono::milliseconds poll{100};           // the longest wait between rounds
  std::chrono::milliseconds ingest_every{1000};  // how often the journals of runs in flight are ingested
  std::function<void()> on_tick;                 // called every round (e.g. to redraw a display)
  SweepClock* clock = nullptr;                   // time for ingest_every; null: the steady clock
};

// Drive `backend` until it is idle: submit `queue`, then each round poll (retries are submitted again; a refused
// resubmission fails its runs), ingest the journals of the runs in flight (every ingest_every, so their epochs reach
// the database while they run), and wait. When `stop` is set: cancel once, settle without retries, and return with
// `stopped` set.
SweepSummary drive(Backend& backend, store::ResultStore& store, std::vector<WorkItem> queue,
                   const std::atomic<bool>& stop, const DriveOptions& options);

}  // namespace moexp::sweep
