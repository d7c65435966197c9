#include "core/run_status.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("run status: round-trips through its stored text, pending and running are not ends") {
  for (std::size_t i = 0; i < kRunStatusNames.size(); ++i) {
    const auto status = static_cast<RunStatus>(i);
    CHECK(parse_run_status(to_text(status)) == status);
    CHECK(is_end(status) == (status != RunStatus::pending && status != RunStatus::running));
  }
  CHECK(to_text(RunStatus::interrupted) == "interrupted");
  CHECK_FALSE(parse_run_status("timeout").has_value());  // an attempt outcome, never a run status
  CHECK_FALSE(parse_run_status("Finished").has_value());
}
