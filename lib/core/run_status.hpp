// The state of a run, defined once. Code works with the enum; it becomes text only where the store reads and writes
// runs.status (lib/store) and where a status is printed (to_text).
#pragma once

#include "core/name_table.hpp"

#include <array>
#include <optional>
#include <string_view>

namespace moexp {

// A run starts `pending` (planned by a sweep) or `running`, and ends in one of the other four.
enum class RunStatus { pending, running, finished, failed, diverged, interrupted };

inline constexpr std::array<std::string_view, 6> kRunStatusNames{"pending", "running",  "finished",
                                                                 "failed",  "diverged", "interrupted"};

// "pending", "running", ...: the stored and printed name.
constexpr std::string_view to_text(RunStatus status) {
  return kRunStatusNames[static_cast<std::size_t>(status)];
}

// The status named `text`, or nullopt.
constexpr std::optional<RunStatus> parse_run_status(std::string_view text) {
  return core::enum_named<RunStatus>(kRunStatusNames, text);
}

// True for the four states a run ends in (finished, failed, diverged, interrupted).
constexpr bool is_end(RunStatus status) {
  return status != RunStatus::pending && status != RunStatus::running;
}

}  // namespace moexp
