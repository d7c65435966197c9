// The local backend, a slot scheduler: runs a sweep's pending runs as child processes (`moexp train --resume ID`),
// keeping every slot busy, with a per-run timeout (SIGTERM, then SIGKILL after a grace period), one attempt row per
// child, and a clean stop on request; drive() (backend.hpp) adds the retries and the ingest of journals. Outcomes are
// data: a failed child is a row, never an exception.
#pragma once

#include "store/result_store.hpp"
#include "sweep/backend.hpp"
#include "sweep/local/launcher.hpp"
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
  // Children write journals in their run folders (`train --run-folder`) and never open the database; drive()
  // ingests them while they run and the executor once more as each ends (docs/sweeps.md, "Runs that write journals").
  bool journal = false;
  std::function<void()> on_tick;  // called on every scheduling round (e.g. to redraw a display)
  SweepClock* clock = nullptr;    // time for timeouts, grace periods and re-checks; null: the steady clock
};

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

class Executor : public Backend {
 public:
  Executor(Launcher& launcher, store::ResultStore& store, ExecutorOptions options,
           std::function<void(const ExecutorEvent&)> on_event = {});

  // Run `queue` in order until every item has ended (or `stop` is set: children get SIGTERM and are waited for):
  // drive() over this backend.
  SweepSummary run(std::vector<WorkItem> queue, const std::atomic<bool>& stop);

  // Backend: `items` join the end of the queue; poll settles the children that exited, fills free slots in order
  // (a run held by another live process waits, and is looked at again each second) and applies the timeouts; wait
  // reaps the next child to exit; reconcile records a dead sweep's claims (reconcile_orphaned_claims).
  void submit(const std::vector<WorkItem>& items) override;
  std::vector<WorkItem> poll(Retry retry, SweepSummary& summary) override;
  void wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop) override;
  void cancel() override;
  std::size_t reconcile(const std::vector<std::int64_t>& run_ids, SweepSummary& summary) override;
  std::set<std::int64_t> in_flight() override;
  bool idle() override;

 private:
  struct Active {
    std::int64_t job = 0;
    WorkItem item;
    const Slot* slot = nullptr;
    SweepClock::time_point started;
    std::string started_at;
    bool terminated = false;  // SIGTERM sent (timeout or stop)
    SweepClock::time_point terminated_at;
    bool timed_out = false;
    bool killed = false;
  };
  bool try_start(const WorkItem& item, const Slot& slot, SweepSummary& summary);
  void finish(const Active& job, const JobExit& exit, Retry retry, std::vector<WorkItem>& retries,
              SweepSummary& summary);
  void apply_timeouts();

  Launcher& m_launcher;
  store::ResultStore& m_store;
  ExecutorOptions m_options;
  SweepClock& m_clock;
  std::function<void(const ExecutorEvent&)> m_on_event;
  std::vector<WorkItem> m_queue;
  std::size_t m_next = 0;           // the next item of m_queue to start
  std::vector<Active> m_active;     // children running
  std::vector<WorkItem> m_waiting;  // runs another process held when their turn came
  std::vector<JobExit> m_exits;     // children that exited, settled by the next poll
  SweepClock::time_point m_last_wait_check;
  bool m_cancelled = false;
};

}  // namespace moexp::sweep
