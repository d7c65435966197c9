#include "config/sweep_backends.hpp"
#include "store/result_store.hpp"
#include "sweep/run_sweep.hpp"
#include "sweep/settle.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace moexp;
using namespace moexp::sweep;

namespace {

struct Fixture {
  store::ResultStore db{":memory:"};
  std::vector<ExecutorEvent> events;
  std::function<void(const ExecutorEvent&)> on_event = [this](const ExecutorEvent& e) { events.push_back(e); };
  std::int64_t run = 0;

  explicit Fixture(RunStatus status) {
    run = db.runs().create_pending({"r", "", "hash", {}, "", "", 0, {}});
    if (status != RunStatus::pending) {
      REQUIRE(db.runs().claim(run, RunStatus::pending, std::nullopt));
      if (status != RunStatus::running) {
        db.runs().finish(run, status, status == RunStatus::finished ? "" : "the child's own words");
      }
    }
  }

  EndedAttempt ended(AttemptOutcome outcome) const {
    return {{run, "label"}, "cpu0", "2026-12-02T10:00:00Z", 2.5, 1, std::nullopt, outcome, "tail", "what ended it"};
  }
};

}  // namespace

TEST_CASE("settle: end_unrecorded - the child's own record stands unless it could not write one") {
  for (auto outcome : {AttemptOutcome::finished, AttemptOutcome::diverged}) {
    CHECK_FALSE(end_unrecorded(RunStatus::running, outcome));
  }
  for (auto outcome : {AttemptOutcome::failed, AttemptOutcome::timeout, AttemptOutcome::interrupted}) {
    CHECK(end_unrecorded(RunStatus::running, outcome));
    CHECK(end_unrecorded(RunStatus::pending, outcome));  // never started (a Slurm task cancelled while queued)
    CHECK_FALSE(end_unrecorded(RunStatus::failed, outcome));
  }
  CHECK(end_unrecorded(RunStatus::interrupted, AttemptOutcome::timeout));  // moexp caught the time limit's SIGTERM
  CHECK_FALSE(end_unrecorded(RunStatus::interrupted, AttemptOutcome::interrupted));
  CHECK_FALSE(end_unrecorded(RunStatus::interrupted, AttemptOutcome::failed));
}

TEST_CASE("settle: a killed child's run is marked failed with the backend's words, recorded and retried once") {
  Fixture f(RunStatus::running);
  bool after = false;
  const SettleRules rules{f.db.runs(), f.db.sweeps(), std::nullopt, 1, f.on_event};
  SweepSummary summary;
  CHECK(settle_attempt(rules, f.ended(AttemptOutcome::failed), Retry::yes, summary, [&] {
    after = true;
    CHECK(f.db.sweeps().attempt_count(f.run) == 1);  // the attempt is recorded before the backend's own step
  }));
  CHECK(after);
  CHECK(f.db.runs().find(f.run)->status == RunStatus::failed);
  CHECK(f.db.runs().find(f.run)->error == "what ended it");
  CHECK(summary.attempts == 1);
  CHECK(summary.failed == 0);  // it will be retried
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].kind == ExecutorEvent::Kind::ended);
  CHECK(f.events[0].outcome == AttemptOutcome::failed);
  CHECK(f.events[0].will_retry);
  // The second failure is over the budget of one retry.
  CHECK_FALSE(settle_attempt(rules, f.ended(AttemptOutcome::failed), Retry::yes, summary));
  CHECK(summary.failed == 1);
  CHECK_FALSE(f.events.back().will_retry);
}

TEST_CASE("settle: a finished run keeps its row, an interrupted one is never retried, a stop forbids retries") {
  {
    Fixture f(RunStatus::finished);
    SweepSummary summary;
    CHECK_FALSE(settle_attempt({f.db.runs(), f.db.sweeps(), std::nullopt, 3, f.on_event},
                               f.ended(AttemptOutcome::finished), Retry::yes, summary));
    CHECK(f.db.runs().find(f.run)->status == RunStatus::finished);
    CHECK(summary.finished == 1);
  }
  {
    Fixture f(RunStatus::running);
    SweepSummary summary;
    CHECK_FALSE(settle_attempt({f.db.runs(), f.db.sweeps(), std::nullopt, 3, f.on_event},
                               f.ended(AttemptOutcome::interrupted), Retry::yes, summary));
    CHECK(f.db.runs().find(f.run)->status == RunStatus::interrupted);
    CHECK(summary.interrupted == 1);
  }
  {
    Fixture f(RunStatus::interrupted);  // the time limit's SIGTERM was caught and recorded as an interruption
    SweepSummary summary;
    CHECK_FALSE(settle_attempt({f.db.runs(), f.db.sweeps(), std::nullopt, 3, f.on_event},
                               f.ended(AttemptOutcome::timeout), Retry::no, summary));
    CHECK(f.db.runs().find(f.run)->status == RunStatus::failed);
    CHECK(f.db.runs().find(f.run)->error == "what ended it");
    CHECK(summary.failed == 1);  // retryable, but the sweep is stopping
  }
}

TEST_CASE("sweep backends: every backend of the registry has a runner, and only those names are accepted") {
  for (const auto& backend : config::kSweepBackends) {
    CHECK(has_backend_runner(backend.name));
    CHECK(config::find_sweep_backend(backend.name) == &backend);
  }
  CHECK_FALSE(has_backend_runner("pbs"));
  CHECK(config::find_sweep_backend("pbs") == nullptr);
  CHECK(config::sweep_backend_choices() == "\"local\" or \"slurm\"");
}
