#include "sweep/settle.hpp"

#include <cstdint>

namespace moexp::sweep {

bool end_unrecorded(RunStatus status, AttemptOutcome outcome) {
  if (outcome == AttemptOutcome::finished || outcome == AttemptOutcome::diverged) {
    return false;
  }
  if (status == RunStatus::running || status == RunStatus::pending) {
    return true;
  }
  return outcome == AttemptOutcome::timeout && status != RunStatus::failed;
}

bool settle_attempt(const SettleRules& rules, const EndedAttempt& ended, Retry may_retry, SweepSummary& summary,
                    const std::function<void()>& after_record) {
  const std::int64_t run_id = ended.item.run_id;
  const auto row = rules.runs.find(run_id);
  if (row && end_unrecorded(row->status, ended.outcome)) {
    rules.runs.finish(run_id, ended.outcome == AttemptOutcome::interrupted ? RunStatus::interrupted : RunStatus::failed,
                      ended.why);
  }
  rules.sweeps.record_attempt({.run_id = run_id,
                               .sweep_id = rules.sweep_id,
                               .started_at = ended.started_at,
                               .seconds = ended.seconds,
                               .slot = ended.slot,
                               .exit_code = ended.exit_code,
                               .signal = ended.signal,
                               .outcome = ended.outcome,
                               .stderr_tail = ended.stderr_tail});
  if (after_record) {
    after_record();
  }
  const bool retry =
      is_retryable(ended.outcome) && may_retry == Retry::yes && rules.sweeps.spent_attempts(run_id) <= rules.retries;
  summary.count(ended.outcome, retry ? Retry::yes : Retry::no);
  if (rules.on_event) {
    rules.on_event(
        {ExecutorEvent::Kind::ended, run_id, ended.item.label, ended.slot, ended.outcome, ended.seconds, retry});
  }
  return retry;
}

}  // namespace moexp::sweep
