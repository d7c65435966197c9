// How one attempt at a run ended (a child process, a Slurm task), defined once. Sweep code works with the enum; it
// becomes text only where it is stored (lib/store: attempts.outcome, slurm_tasks.outcome) or printed.
#pragma once

#include "core/name_table.hpp"
#include "core/run_status.hpp"

#include <array>
#include <optional>
#include <string_view>

namespace moexp {

enum class AttemptOutcome { finished, failed, diverged, interrupted, timeout };

inline constexpr std::array<std::string_view, 5> kAttemptOutcomeNames{"finished", "failed", "diverged", "interrupted",
                                                                      "timeout"};

// "finished", "failed", ...: the stored and printed name.
constexpr std::string_view to_text(AttemptOutcome outcome) {
  return kAttemptOutcomeNames[static_cast<std::size_t>(outcome)];
}

// The outcome named `text`, or nullopt.
constexpr std::optional<AttemptOutcome> parse_attempt_outcome(std::string_view text) {
  return core::enum_named<AttemptOutcome>(kAttemptOutcomeNames, text);
}

// The outcome that records a run which ended with `status` on its own (finished, diverged, interrupted, failed), or
// nullopt for a status that is not an end (pending, running).
constexpr std::optional<AttemptOutcome> outcome_of_status(RunStatus status) {
  switch (status) {
    case RunStatus::finished:
      return AttemptOutcome::finished;
    case RunStatus::failed:
      return AttemptOutcome::failed;
    case RunStatus::diverged:
      return AttemptOutcome::diverged;
    case RunStatus::interrupted:
      return AttemptOutcome::interrupted;
    case RunStatus::pending:
    case RunStatus::running:
      break;
  }
  return std::nullopt;
}

// Outcomes a sweep retries within its budget: failed and timeout (never a diverged or interrupted run).
constexpr bool is_retryable(AttemptOutcome outcome) {
  return outcome == AttemptOutcome::failed || outcome == AttemptOutcome::timeout;
}

}  // namespace moexp
