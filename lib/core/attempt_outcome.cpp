#include "core/attempt_outcome.hpp"

namespace moexp {

std::optional<AttemptOutcome> parse_attempt_outcome(std::string_view text) {
  for (std::size_t i = 0; i < kAttemptOutcomeNames.size(); ++i) {
    if (kAttemptOutcomeNames[i] == text) {
      return static_cast<AttemptOutcome>(i);
    }
  }
  return std::nullopt;
}

std::optional<AttemptOutcome> outcome_of_status(std::string_view status) {
  if (status == "timeout") {
    return std::nullopt;  // a run status is never "timeout"
  }
  return parse_attempt_outcome(status);
}

} // namespace moexp
