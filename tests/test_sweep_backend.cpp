// drive(): the loop every sweep backend runs under, tested on a scripted fake backend (no processes, no Slurm).
#include "core/error.hpp"
#include "fake_launcher.hpp"
#include "journal/run_journal.hpp"
#include "sweep/backend.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>
#include <deque>
#include <set>

using namespace moexp;
using namespace moexp::sweep;

namespace {

// A backend that is idle after `rounds` polls, returns the scripted retries one poll at a time and records every call.
class ScriptedBackend : public Backend {
 public:
  explicit ScriptedBackend(int rounds) : m_rounds(rounds) {}

  std::vector<std::vector<WorkItem>> submitted;
  std::vector<Retry> polls;
  std::deque<std::vector<WorkItem>> retries;  // what each poll returns, in order
  std::set<std::int64_t> flight;
  int cancels = 0;
  int waits = 0;
  bool refuse_resubmissions = false;
  test::ManualClock* clock = nullptr;  // advanced by each wait

  void submit(const std::vector<WorkItem>& items) override {
    if (refuse_resubmissions && !submitted.empty()) {
      throw Error("sbatch: error: Batch job submission failed: Invalid partition name specified");
    }
    submitted.push_back(items);
  }
  std::vector<WorkItem> poll(Retry retry, SweepSummary&) override {
    polls.push_back(retry);
    --m_rounds;
    if (retries.empty()) {
      return {};
    }
    auto next = retries.front();
    retries.pop_front();
    return next;
  }
  void wait(std::chrono::milliseconds duration, const std::atomic<bool>&) override {
    ++waits;
    if (clock != nullptr) {
      clock->sleep_for(duration);
    }
  }
  void cancel() override { ++cancels; }
  std::size_t reconcile(const std::vector<std::int64_t>&, SweepSummary&) override { return 0; }
  std::set<std::int64_t> in_flight() override { return flight; }
  bool idle() override { return m_rounds <= 0; }

 private:
  int m_rounds;
};

struct Fixture {
  test::TempDir dir;
  std::string db_path = (dir / "moexp.db").string();
  store::ResultStore db{db_path};
  std::vector<WorkItem> queue;

  explicit Fixture(int runs) {
    for (int i = 0; i < runs; ++i) {
      store::NewRun row{.name = fmt::format("r{}", i), .config_hash = fmt::format("hash{}", i)};
      queue.push_back({db.runs().create_pending(row), row.name});
    }
  }
  DriveOptions options(test::ManualClock* clock = nullptr) const {
    DriveOptions o;
    o.db_path = db_path;
    o.clock = clock;
    return o;
  }
};

}  // namespace

TEST_CASE("drive: the queue is submitted once, each poll's retries go back as a new submission, done when idle") {
  Fixture f(3);
  ScriptedBackend backend(4);
  backend.retries = {{}, {f.queue[1]}, {}};
  std::atomic<bool> stop{false};
  const auto summary = drive(backend, f.db, f.queue, stop, f.options());
  REQUIRE(backend.submitted.size() == 2);
  CHECK(backend.submitted[0].size() == 3);
  REQUIRE(backend.submitted[1].size() == 1);
  CHECK(backend.submitted[1][0].run_id == f.queue[1].run_id);
  CHECK(backend.polls == std::vector<Retry>(4, Retry::yes));
  CHECK(backend.waits == 3);  // between polls, not after the last
  CHECK(backend.cancels == 0);
  CHECK_FALSE(summary.stopped);
}

TEST_CASE("drive: a stop cancels once and every later poll settles without retries") {
  Fixture f(2);
  ScriptedBackend backend(3);
  std::atomic<bool> stop{true};
  const auto summary = drive(backend, f.db, f.queue, stop, f.options());
  CHECK(backend.cancels == 1);
  CHECK(backend.polls == std::vector<Retry>(3, Retry::no));
  CHECK(summary.stopped);
}

TEST_CASE("drive: a resubmission the scheduler refuses fails those runs with its words") {
  Fixture f(2);
  ScriptedBackend backend(2);
  backend.retries = {{f.queue[0]}};
  backend.refuse_resubmissions = true;
  std::atomic<bool> stop{false};
  const auto summary = drive(backend, f.db, f.queue, stop, f.options());
  CHECK(summary.failed == 1);
  const auto row = f.db.runs().find(f.queue[0].run_id);
  CHECK(row->status == RunStatus::failed);
  CHECK(row->error.find("Invalid partition name") != std::string::npos);
  CHECK(f.db.runs().find(f.queue[1].run_id)->status == RunStatus::pending);
}

TEST_CASE("drive: the journals of runs in flight reach the database about once a second while they run") {
  Fixture f(1);
  const auto run = f.queue[0].run_id;
  {
    journal::JournalSink sink(journal::journal_path(store::run_folder(f.db_path, run)));
    sink.start({.uid = f.db.runs().find(run)->uid, .run_id = run, .host = "n1", .pid = 4242});
    EpochRecord epoch;
    epoch.epoch = 1;
    epoch.set("test", "acc", 0.5);
    sink.record_epoch(epoch);
  }
  test::ManualClock clock;
  ScriptedBackend backend(25);  // 25 rounds of 100 ms: ingests at 1 s and 2 s
  backend.clock = &clock;
  backend.flight = {run};
  std::atomic<bool> stop{false};
  drive(backend, f.db, {}, stop, f.options(&clock));
  CHECK(backend.submitted.empty());  // an empty queue submits nothing
  CHECK(f.db.journal_progress(run).records == 2);
  CHECK(f.db.metrics().epochs(run).size() == 1);
  CHECK(f.db.runs().find(run)->host == "n1");
}
