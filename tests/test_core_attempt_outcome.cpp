#include "core/attempt_outcome.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("attempt outcome: text only at the edges, round-trips, and which outcomes are retried") {
  for (auto o : {AttemptOutcome::finished, AttemptOutcome::failed, AttemptOutcome::diverged,
                 AttemptOutcome::interrupted, AttemptOutcome::timeout}) {
    CHECK(parse_attempt_outcome(to_text(o)) == o);
  }
  CHECK(to_text(AttemptOutcome::timeout) == "timeout");
  CHECK_FALSE(parse_attempt_outcome("crashed").has_value());
  CHECK(is_retryable(AttemptOutcome::failed));
  CHECK(is_retryable(AttemptOutcome::timeout));
  CHECK_FALSE(is_retryable(AttemptOutcome::diverged));
  CHECK_FALSE(is_retryable(AttemptOutcome::interrupted));
  // A run's own end becomes the attempt's outcome; running / pending are not ends, and no run is "timeout".
  CHECK(outcome_of_status(RunStatus::diverged) == AttemptOutcome::diverged);
  CHECK(outcome_of_status(RunStatus::finished) == AttemptOutcome::finished);
  CHECK_FALSE(outcome_of_status(RunStatus::running).has_value());
  CHECK_FALSE(outcome_of_status(RunStatus::pending).has_value());
}
