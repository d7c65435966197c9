// The Slurm backend of the sweep: pending runs go out as one job array; the sweep then polls Slurm (and the tasks'
// own exit-code files and journals), records one attempt per ended task, and on a stop cancels its arrays and marks
// their runs interrupted; drive() (backend.hpp) resubmits failed runs within the retry budget. Every submitted task is
// a slurm_tasks row, so a detached sweep is picked up later by `moexp sweep status` or by running the sweep again.
#pragma once

#include "config/sweep_spec.hpp"
#include "store/result_store.hpp"
#include "sweep/backend.hpp"
#include "sweep/slurm/slurm_client.hpp"
#include "sweep/slurm/slurm_submission.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>

namespace moexp::sweep {

struct SlurmExecutorOptions {
  config::SlurmSettings slurm;
  std::string sweep_name;
  std::optional<std::int64_t> sweep_id;
  std::filesystem::path moexp_exe;  // absolute
  std::filesystem::path db_path;    // absolute
  std::int64_t retries = 1;
  double timeout_s = 0;  // executor.timeout: the default --time
  std::chrono::milliseconds poll{2000};
  std::chrono::seconds cancel_wait{60};  // after a stop, how long to wait for cancelled tasks to end
};

class SlurmExecutor : public Backend {
 public:
  SlurmExecutor(SlurmClient& slurm, store::ResultStore& store, SlurmExecutorOptions options,
                std::function<void(const ExecutorEvent&)> on_event = {});

  // Submit `items` as one array job and record its tasks; returns the array job id. Throws moexp::Error with
  // sbatch's message when Slurm refuses it (nothing is recorded then).
  std::int64_t submit_array(const std::vector<WorkItem>& items);

  // Ask Slurm once about this sweep's open tasks: note state changes, settle the ended ones (their journals ingested
  // first; attempt rows, run rows) and return the runs to retry (only with Retry::yes). Tasks of arrays in
  // `cancelled` that Slurm no longer knows count as interrupted.
  std::vector<WorkItem> poll_once(Retry retry, SweepSummary& summary);

  // Poll until every open task of the sweep has settled, resubmitting retries. When `stop` is set: scancel the
  // open arrays and wait (at most cancel_wait) for their tasks to end as interrupted. drive() over this backend.
  SweepSummary watch(const std::atomic<bool>& stop);

  // Backend: submit is submit_array; poll is poll_once, and after a cancel that Slurm did not confirm within
  // cancel_wait, settles the open tasks as interrupted; wait sleeps; reconcile settles the tasks that ended since the
  // last look; in_flight: the runs with a task still queued or running in Slurm.
  void submit(const std::vector<WorkItem>& items) override;
  std::vector<WorkItem> poll(Retry retry, SweepSummary& summary) override;
  void wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop) override;
  void cancel() override;
  std::size_t reconcile(const std::vector<std::int64_t>& run_ids, SweepSummary& summary) override;
  std::set<std::int64_t> in_flight() override;
  bool idle() override;

 private:
  // The sbatch arguments (the script's path last) and the script text `items` are submitted with.
  std::pair<std::vector<std::string>, std::string> submission(const std::vector<WorkItem>& items) const;
  void settle(const store::SlurmTaskRow& task, const std::optional<slurm::TaskRecord>& record, AttemptOutcome outcome,
              std::optional<TaskExit> exit, const std::optional<std::string>& journal_error, Retry retry,
              std::vector<WorkItem>& retries, SweepSummary& summary);
  std::string label_of(std::int64_t run_id);

  SlurmClient& m_slurm;
  store::ResultStore& m_store;
  SlurmExecutorOptions m_options;
  std::function<void(const ExecutorEvent&)> m_on_event;
  std::set<std::int64_t> m_cancelled;
  std::optional<std::chrono::steady_clock::time_point> m_cancel_deadline;  // set by cancel()
  std::map<std::int64_t, std::string> m_labels;
};

}  // namespace moexp::sweep
