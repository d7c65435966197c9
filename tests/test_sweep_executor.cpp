#include "core/host.hpp"
#include "fake_launcher.hpp"
#include "sweep/local/executor.hpp"
#include "testutil.hpp"

#include "core/atomic_file.hpp"
#include "journal/run_journal.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdint>
#include <set>

using namespace moexp;
using namespace moexp::sweep;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string db_path = (dir / "moexp.db").string();
  store::ResultStore db{db_path};
  test::FakeLauncher launcher{db};
  test::ManualClock clock;
  std::vector<WorkItem> queue;

  explicit Fixture(int runs) {
    launcher.clock = &clock;
    for (int i = 0; i < runs; ++i) {
      // fmt::format, not "r" + std::to_string(i): GCC 12 at -O3 misreports the concatenation (-Wrestrict, PR 105329).
      store::NewRun row{.name = fmt::format("r{}", i), .config_hash = fmt::format("hash{}", i)};
      queue.push_back({db.runs().create_pending(row), row.name});
    }
  }

  // Run the queue on the manual clock: polls of 100 ms as in a real sweep, a 10 s grace period before SIGKILL.
  SweepSummary run(std::vector<Slot> slots, double timeout = 0, std::int64_t retries = 1,
                   const std::atomic<bool>* stop = nullptr, std::function<void()> on_tick = {}, bool journal = false) {
    ExecutorOptions options;
    options.journal = journal;
    options.slots = std::move(slots);
    options.moexp_exe = "/bin/moexp";
    options.db_path = db_path;
    options.timeout_s = timeout;
    options.grace_s = 10;
    options.retries = retries;
    options.poll = std::chrono::milliseconds(100);
    options.on_tick = std::move(on_tick);
    options.clock = &clock;
    Executor executor(launcher, db, options);
    std::atomic<bool> never{false};
    return executor.run(queue, stop ? *stop : never);
  }
};

}  // namespace

TEST_CASE("executor: runs every item in order, never more at once than there are slots") {
  Fixture f(5);
  auto summary = f.run(make_slots(2, {}, 1));
  CHECK(summary.finished == 5);
  CHECK(summary.attempts == 5);
  CHECK(f.launcher.max_running == 2);
  REQUIRE(f.launcher.started.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(f.launcher.started[i].argv ==
          std::vector<std::string>{"/bin/moexp", "train", "--resume", std::to_string(f.queue[i].run_id), "--db",
                                   f.db_path, "--claimed-by", std::to_string(::getpid()), "--device", "cpu"});
    CHECK(f.db.runs().find(f.queue[i].run_id)->status == RunStatus::finished);
  }
}

TEST_CASE("executor: GPU slots pin CUDA_VISIBLE_DEVICES") {
  Fixture f(4);
  auto slots = make_slots(1, {3, 5}, 2);
  REQUIRE(slots.size() == 4);
  f.run(slots);
  CHECK(f.launcher.max_running == 4);
  std::set<std::string> gpus;
  for (const auto& request : f.launcher.started) {
    REQUIRE(request.env.size() == 1);
    CHECK(request.env[0].first == "CUDA_VISIBLE_DEVICES");
    gpus.insert(request.env[0].second);
    CHECK(request.argv.back() == "cuda:0");
  }
  CHECK(gpus == std::set<std::string>{"3", "5"});
}

TEST_CASE("executor: a failed run is retried up to the budget with one row per attempt, but a diverged run is not") {
  Fixture f(3);
  const auto failing = f.queue[0].run_id, flaky = f.queue[1].run_id, diverging = f.queue[2].run_id;
  f.launcher.script[failing] = {{1, RunStatus::failed}};
  f.launcher.script[flaky] = {{1, RunStatus::failed}, {0, RunStatus::finished}};
  f.launcher.script[diverging] = {{3, RunStatus::diverged}};
  auto summary = f.run(make_slots(1, {}, 1), 0, /*retries=*/2);
  CHECK(summary.failed == 1);
  CHECK(summary.finished == 1);
  CHECK(summary.diverged == 1);
  CHECK(f.db.sweeps().attempt_count(failing) == 3);
  CHECK(f.db.sweeps().attempt_count(flaky) == 2);
  CHECK(f.db.sweeps().attempt_count(diverging) == 1);
  CHECK(f.db.runs().find(failing)->status == RunStatus::failed);
  CHECK(f.db.runs().find(flaky)->status == RunStatus::finished);
}

TEST_CASE("executor: a run over its timeout gets SIGTERM, then SIGKILL, and counts as a failed attempt") {
  Fixture f(1);
  const auto id = f.queue[0].run_id;
  f.launcher.script[id] = {{0, RunStatus::finished, -1, /*honours_sigterm=*/false}};
  auto summary = f.run(make_slots(1, {}, 1), /*timeout=*/3600, /*retries=*/0);
  CHECK(summary.failed == 1);
  REQUIRE(f.launcher.signals.size() == 2);
  CHECK(f.launcher.signals[0].second == SIGTERM);
  CHECK(f.launcher.signals[1].second == SIGKILL);
  // SIGTERM at the first round past the hour, SIGKILL at the first round past the 10 s grace: one poll late at most.
  const auto& at = f.launcher.signal_times;
  REQUIRE(at.size() == 2);
  CHECK(at[0] >= 3600.0);
  CHECK(at[0] <= 3600.0 + 0.2);
  CHECK(at[1] - at[0] >= 10.0);
  CHECK(at[1] - at[0] <= 10.0 + 0.2);
  auto row = f.db.runs().find(id);
  CHECK(row->status == RunStatus::failed);
  CHECK(row->error.find("timed out") != std::string::npos);
}

TEST_CASE("executor: a stop request interrupts the running children and starts nothing more") {
  Fixture f(4);
  for (const auto& item : f.queue) {
    f.launcher.script[item.run_id] = {{0, RunStatus::finished, -1, true}};
  }
  std::atomic<bool> stop{false};
  ExecutorOptions options;
  options.slots = make_slots(2, {}, 1);
  options.moexp_exe = "/bin/moexp";
  options.db_path = f.db_path;
  options.poll = std::chrono::milliseconds(100);
  options.clock = &f.clock;
  int started = 0;
  Executor executor(f.launcher, f.db, options, [&](const ExecutorEvent& e) {
    if (e.kind == ExecutorEvent::Kind::started && ++started == 2) {
      stop.store(true);
    }
  });
  auto summary = executor.run(f.queue, stop);
  CHECK(summary.stopped);
  CHECK(summary.interrupted == 2);
  CHECK(f.launcher.started.size() == 2);
  CHECK(f.db.runs().find(f.queue[0].run_id)->status == RunStatus::interrupted);
  CHECK(f.db.runs().find(f.queue[3].run_id)->status == RunStatus::pending);
}

TEST_CASE("executor: runs already ended are skipped, and a run held by a live process waits for it") {
  Fixture f(2);
  f.db.runs().finish(f.queue[0].run_id, RunStatus::finished);
  // Held by this (live) process: the executor waits until it lets go, at 2.5 s on its clock.
  f.db.resume_run(f.queue[1].run_id, 0, "cpu", core::host_name(), ::getpid());
  double released_at = -1;
  double started_at = -1;
  auto on_tick = [&] {
    if (released_at < 0 && f.clock.elapsed_s() >= 2.5) {
      f.db.runs().finish(f.queue[1].run_id, RunStatus::interrupted, "");
      released_at = f.clock.elapsed_s();
    }
    if (started_at < 0 && !f.launcher.started.empty()) {
      started_at = f.clock.elapsed_s();
    }
  };
  auto summary = f.run(make_slots(1, {}, 1), 0, 1, nullptr, on_tick);
  CHECK(summary.skipped == 1);
  CHECK(summary.finished == 1);
  CHECK(f.db.runs().find(f.queue[1].run_id)->status == RunStatus::finished);
  // Nothing started while it was held; the once-a-second re-check took it back within a second of its release.
  REQUIRE(f.launcher.started.size() == 1);
  CHECK(started_at >= released_at);
  CHECK(started_at <= released_at + 1.2);
}

namespace {

// Claim run `id` from a short-lived child process, as a sweep killed right after claiming leaves it: `running`,
// no child pid, a claimer that is gone. `then_status` is what the run's orphaned child recorded afterwards
// ("running": nothing); `from` is the status the claim takes it from.
void claim_from_dead_process(const std::string& db_path, std::int64_t id, RunStatus then_status,
                             RunStatus from = RunStatus::pending) {
  const pid_t child = ::fork();
  if (child == 0) {
    store::ResultStore db(db_path);
    const bool claimed = db.runs().claim(id, from, std::nullopt);
    if (claimed && then_status != RunStatus::running) {
      db.runs().finish(id, then_status);
    }
    ::_exit(claimed ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE(
    "executor: a claim whose sweep died before its child started is resumed, not waited on, and spends no retry") {
  Fixture f(2);
  claim_from_dead_process(f.db_path, f.queue[0].run_id, RunStatus::running);
  auto row = f.db.runs().find(f.queue[0].run_id);
  REQUIRE(row->status == RunStatus::running);
  CHECK_FALSE(row->pid.has_value());
  CHECK(row->claim_pid.has_value());
  CHECK_FALSE(held_by_live_process(*row));
  auto summary = f.run(make_slots(1, {}, 1), 0, 1);
  CHECK(summary.finished == 2);
  CHECK(f.db.runs().find(f.queue[0].run_id)->status == RunStatus::finished);
  CHECK_FALSE(f.db.runs().find(f.queue[0].run_id)->claim_pid.has_value());  // released with the attempt
  // The interrupted attempt is on record, then the real one; neither spent the retry budget.
  CHECK(f.db.sweeps().attempt_count(f.queue[0].run_id) == 2);
  CHECK(f.db.sweeps().spent_attempts(f.queue[0].run_id) == 0);
}

TEST_CASE("executor: a run orphaned by dead sweeps again and again is resumed each time, its budget untouched") {
  Fixture f(1);
  const auto id = f.queue[0].run_id;
  for (int kill = 0; kill < 3; ++kill) {  // more orphanings than a budget of 1 retry would allow failures
    // A sweep claims it (the next one from `interrupted`) and dies before its child records anything.
    claim_from_dead_process(f.db_path, id, RunStatus::running, kill == 0 ? RunStatus::pending : RunStatus::interrupted);
    REQUIRE(reconcile_orphaned_claims(f.db, {id}, std::nullopt) == 1);
    const auto row = f.db.runs().find(id);
    CHECK(row->status == RunStatus::interrupted);
    CHECK(row->error == kOrphanedRunError);
  }
  CHECK(f.db.sweeps().attempt_count(id) == 3);
  CHECK(f.db.sweeps().spent_attempts(id) == 0);
  auto summary = f.run(make_slots(1, {}, 1), 0, 1);
  CHECK(summary.finished == 1);
  CHECK(summary.failed == 0);
  CHECK(f.db.runs().find(id)->status == RunStatus::finished);
}

TEST_CASE("executor: a live claimer still holds its run") {
  Fixture f(1);
  REQUIRE(f.db.runs().claim(f.queue[0].run_id, RunStatus::pending, std::nullopt));  // this process: alive
  CHECK(held_by_live_process(*f.db.runs().find(f.queue[0].run_id)));
}

TEST_CASE("executor: attempts that ended while no sweep was alive are recorded by the next one") {
  Fixture f(3);
  claim_from_dead_process(f.db_path, f.queue[0].run_id, RunStatus::finished);
  claim_from_dead_process(f.db_path, f.queue[1].run_id, RunStatus::failed);
  std::vector<std::int64_t> ids{f.queue[0].run_id, f.queue[1].run_id, f.queue[2].run_id};
  CHECK(reconcile_orphaned_claims(f.db, ids, std::nullopt) == 2);
  CHECK(f.db.sweeps().attempt_count(f.queue[0].run_id) == 1);
  CHECK(f.db.sweeps().attempt_count(f.queue[1].run_id) == 1);
  CHECK(f.db.sweeps().attempt_count(f.queue[2].run_id) == 0);  // never claimed
  CHECK(f.db.runs().find(f.queue[0].run_id)->status == RunStatus::finished);
  CHECK(reconcile_orphaned_claims(f.db, ids, std::nullopt) == 0);  // once only
}

TEST_CASE("executor: a run that ended well while no sweep was alive gets its attempt when the executor skips it") {
  // The e2e drill's case: the orphaned child finishes while the next sweep waits for it, after that sweep's
  // up-front reconciliation ran. The executor must record the attempt before skipping the finished run.
  Fixture f(2);
  claim_from_dead_process(f.db_path, f.queue[0].run_id, RunStatus::finished);
  auto summary = f.run(make_slots(1, {}, 1), 0, 1);
  CHECK(summary.skipped == 1);
  CHECK(summary.finished == 1);
  CHECK(f.db.sweeps().attempt_count(f.queue[0].run_id) == 1);
  CHECK_FALSE(f.db.runs().find(f.queue[0].run_id)->claim_pid.has_value());
  CHECK(f.db.sweeps().attempt_count(f.queue[1].run_id) == 1);
}

TEST_CASE("executor: journal-writing children get their run folder, never the database, and are ingested as they run") {
  Fixture f(3);
  f.launcher.script[f.queue[0].run_id] = {{.ticks = 40}};  // a long run: ingested while it runs
  f.launcher.script[f.queue[1].run_id] = {{.exit_code = 1, .final_status = RunStatus::failed}, {}};
  std::int64_t epochs_seen_in_flight = 0;
  auto summary = f.run(
      make_slots(2, {}, 1), 0, 1, nullptr,
      [&] {
        const auto row = f.db.runs().find(f.queue[0].run_id);
        if (row->status == RunStatus::running) {
          epochs_seen_in_flight = std::max(epochs_seen_in_flight, row->epochs_done);
        }
      },
      true);
  CHECK(summary.finished == 3);
  CHECK(summary.failed == 0);
  CHECK(epochs_seen_in_flight >= 10);  // the once-a-second ingest of a 40-epoch run at 10 polls a second
  for (const auto& request : f.launcher.started) {
    CHECK(std::find(request.argv.begin(), request.argv.end(), "--db") == request.argv.end());
    CHECK(std::find(request.argv.begin(), request.argv.end(), "--claimed-by") == request.argv.end());
    CHECK(std::find(request.argv.begin(), request.argv.end(), "--run-folder") != request.argv.end());
  }
  for (const auto& item : f.queue) {
    const auto row = f.db.runs().find(item.run_id);
    CHECK(row->status == RunStatus::finished);
    CHECK_FALSE(row->claim_pid);
    const auto folder = store::run_folder(f.db_path, item.run_id);
    CHECK(core::read_text_file(folder / "run.uid") == row->uid + "\n");
    CHECK(core::read_text_file(folder / "config.toml") == row->config_toml);
  }
  CHECK(f.db.metrics().epochs(f.queue[0].run_id).size() == 40);
  CHECK(f.db.sweeps().attempt_count(f.queue[1].run_id) == 2);  // the failure (from its journal) was retried
  CHECK(f.db.sweeps().spent_attempts(f.queue[1].run_id) == 1);
}

TEST_CASE("executor: a journal from another database fails its attempt with the journal's line") {
  Fixture f(1);
  const auto folder = store::run_folder(f.db_path, f.queue[0].run_id);
  {
    journal::JournalSink foreign(journal::journal_path(folder));
    foreign.start({.uid = "0000feedface0000", .run_id = f.queue[0].run_id});
  }
  auto summary = f.run(make_slots(1, {}, 1), 0, 0, nullptr, {}, true);
  CHECK(summary.failed == 1);
  const auto row = f.db.runs().find(f.queue[0].run_id);
  CHECK(row->status == RunStatus::failed);
  CHECK(row->error.find("it belongs to another database or run") != std::string::npos);
}
