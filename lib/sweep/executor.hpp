// The slot scheduler: runs a sweep's pending runs as child processes (`moexp train --resume ID`), keeping every slot
// busy, with a per-run timeout (SIGTERM, then SIGKILL after a grace period), retries of failed runs, one attempt row
// per child, and a clean stop on request. Outcomes are data: a failed child is a row, never an exception.
#pragma once

#include "store/result_store.hpp"
#include "sweep/launcher.hpp"
#include "sweep/sweep_clock.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::sweep {

struct Slot {
  std::string name;                 // "cpu0", "gpu1.0"
  std::optional<std::int64_t> gpu;  // CUDA_VISIBLE_DEVICES for its children
};

// Slots for `jobs` CPU workers, or `per_gpu` workers on each of `gpus`.
std::vector<Slot> make_slots(std::int64_t jobs, const std::vector<std::int64_t>& gpus, std::int64_t per_gpu);

struct ExecutorOptions {
  std::vector<Slot> slots;
  std::string moexp_exe;  // the binary the children run
  std::string db_path;
  std::optional<std::int64_t> sweep_id;
  double timeout_s = 0;  // 0: none
  double grace_s = 10;   // between SIGTERM and SIGKILL
  std::int64_t retries = 1;
  std::chrono::milliseconds poll{100};
  // Children write journals in their run folders (`train --run-folder`) and never open the database; the executor
  // ingests them as it polls (docs/sweeps.md, "Runs that write journals").
  bool journal = false;
  std::function<void()> on_tick;  // called on every scheduling round (e.g. to redraw a display)
  SweepClock* clock = nullptr;    // time for timeouts, grace periods and re-checks; null: the steady clock
};

struct WorkItem {
  std::int64_t run_id = 0;
  std::string label;
};

// Whether a run is retried: as a permission (Retry::yes: a retryable outcome may be retried within the budget; no: the
// sweep is stopping or only settling what ended) and as the decision an attempt was counted with.
enum class Retry { no, yes };

// One line of news from the executor, for the display.
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

// Apply what run `run_id`'s journal (in its folder beside the database at `db_path`) holds that the database does not
// yet (ResultStore::ingest_journal; nothing when it has no journal). Returns the one-line error of a journal that
// cannot be applied (another database's, damaged), or nullopt.
std::optional<std::string> ingest_run_journal(store::ResultStore& store, const std::string& db_path,
                                              std::int64_t run_id);

// ingest_run_journal, printing a refused journal's line as a warning on stderr (for callers that go on regardless).
void ingest_run_journal_or_warn(store::ResultStore& store, const std::string& db_path, std::int64_t run_id);

// Write what a journal-writing child needs into run `row`'s folder (config.toml, run.uid), atomically.
void write_run_setup(const std::string& db_path, const store::RunRow& row);

// Whether `row` is taken by a live process: its child runs, or the sweep that claimed it is still alive.
bool held_by_live_process(const store::RunRow& row);

// The error of a run whose sweep died before the run recorded an end (reconcile_orphaned_claim).
inline constexpr std::string_view kOrphanedRunError =
    "interrupted: the sweep that started it died before the run recorded an end; resumed by the next sweep";

// If `row`'s claiming sweep died: record the attempt it left unrecorded (outcome from the row; a run left `running`
// or `pending` — its child never started, or ended with the sweep — becomes `interrupted` with kOrphanedRunError:
// resumed from its checkpoint, no retry spent), release the claim and return true. A run whose orphaned child still
// runs is left for later (false).
bool reconcile_orphaned_claim(store::ResultStore& store, const store::RunRow& row,
                              std::optional<std::int64_t> sweep_id);

// reconcile_orphaned_claim for each run in `run_ids`; returns how many were reconciled.
std::size_t reconcile_orphaned_claims(store::ResultStore& store, const std::vector<std::int64_t>& run_ids,
                                      std::optional<std::int64_t> sweep_id);

// reconcile_orphaned_claims after ingesting each run's journal (what its orphaned child wrote, its end included).
std::size_t reconcile_orphaned_claims(store::ResultStore& store, const std::string& db_path,
                                      const std::vector<std::int64_t>& run_ids, std::optional<std::int64_t> sweep_id);

class Executor {
 public:
  Executor(Launcher& launcher, store::ResultStore& store, ExecutorOptions options,
           std::function<void(const ExecutorEvent&)> on_event = {});

  // Run `queue` in order until every item has ended (or `stop` is set: children get SIGTERM and are waited for).
  SweepSummary run(std::vector<WorkItem> queue, const std::atomic<bool>& stop);

 private:
  struct Active;
  bool try_start(const WorkItem& item, const Slot& slot, std::vector<Active>& active, std::vector<WorkItem>& waiting,
                 SweepSummary& summary);
  void finish(Active& job, const JobExit& exit, bool stopping, std::vector<WorkItem>& queue, SweepSummary& summary);

  Launcher& m_launcher;
  store::ResultStore& m_store;
  ExecutorOptions m_options;
  SweepClock& m_clock;
  std::function<void(const ExecutorEvent&)> m_on_event;
};

}  // namespace moexp::sweep
