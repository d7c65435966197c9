// What every sweep backend does when an attempt at a run has ended, written once: record the end the child could
// not record itself, record the attempt, decide the retry within the budget, count it and emit the event. Backends
// differ only in how they learn that an attempt ended and what its outcome is (the local Executor from the child's
// exit and the run row, the SlurmExecutor from Slurm's record, the exit file and the run row).
#pragma once

#include "store/run_store.hpp"
#include "store/sweep_store.hpp"
#include "sweep/backend.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace moexp::sweep {

// Whether the run row (status `status`) still lacks the end `outcome` describes: the child was killed, crashed,
// never started or ran out of time before it could record it (the row is still running or pending), or it recorded
// "interrupted" for the signal a time limit sent. Finished and diverged outcomes are the child's own record.
bool end_unrecorded(RunStatus status, AttemptOutcome outcome);

// One ended attempt, as its backend saw it.
struct EndedAttempt {
  WorkItem item;
  std::string slot;        // "cpu0", "slurm 12_3"
  std::string started_at;  // ISO 8601
  double seconds = 0;
  std::optional<std::int64_t> exit_code;
  std::optional<std::int64_t> signal;
  AttemptOutcome outcome = AttemptOutcome::failed;
  std::string stderr_tail;  // the last lines of the child's stderr.log
  std::string why;          // the run's error when end_unrecorded: what ended it ("timed out after 60 s")
};

// Where settle_attempt writes and what it may do.
struct SettleRules {
  store::RunStore& runs;      // the run row it reads and may end
  store::SweepStore& sweeps;  // where the attempt is recorded
  std::optional<std::int64_t> sweep_id;
  std::int64_t retries = 1;  // attempts beyond the first a failed or timed-out run gets
  const std::function<void(const ExecutorEvent&)>& on_event;
};

// Settle `ended`: when end_unrecorded, mark the run failed (interrupted for an interrupted outcome) with `why`;
// record the attempt; run `after_record` (the backend's own bookkeeping: release a claim, settle a Slurm task); then
// retry when the outcome is retryable, `may_retry` is Retry::yes and the attempts are within the budget. Counts the
// attempt in `summary`, emits the ended event and returns whether the run goes back in the queue.
bool settle_attempt(const SettleRules& rules, const EndedAttempt& ended, Retry may_retry, SweepSummary& summary,
                    const std::function<void()>& after_record = {});

}  // namespace moexp::sweep
