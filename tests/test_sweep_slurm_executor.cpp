// The Slurm backend against a fake Slurm: submission records, state changes, outcomes, retries, cancellation.
#include "core/error.hpp"
#include "store/result_store.hpp"
#include "sweep/slurm/slurm_executor.hpp"
#include "sweep/slurm/slurm_submission.hpp"
#include "testutil.hpp"

#include "core/text.hpp"
#include "journal/run_journal.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>

using namespace moexp;
using namespace moexp::sweep;

namespace {

// Slurm as a table the test edits: arrays, their task records, and what was submitted or cancelled.
class FakeSlurm : public SlurmClient {
 public:
  std::map<std::int64_t, std::vector<slurm::TaskRecord>> arrays;
  std::vector<std::vector<std::string>> submitted;
  std::vector<std::int64_t> cancelled;
  bool reachable = true;
  bool refuse = false;
  std::int64_t next_id = 100;
  std::function<void(std::int64_t)> on_submit;  // called with each new array's id

  std::int64_t submit(const std::vector<std::string>& args) override {
    if (refuse) {
      throw Error("slurm: sbatch refused the array: Invalid partition name specified");
    }
    submitted.push_back(args);
    const auto n = slurm::expand_task_ranges(args.front().substr(std::string("--array=").size())).size();
    auto& tasks = arrays[next_id];
    for (std::size_t i = 0; i < n; ++i) {
      tasks.push_back({static_cast<std::int64_t>(i), "PENDING", "None", std::nullopt, std::nullopt});
    }
    if (on_submit) {
      on_submit(next_id);
    }
    return next_id++;
  }
  std::optional<std::vector<slurm::TaskRecord>> tasks(std::int64_t id) override {
    if (!reachable) {
      return std::nullopt;
    }
    return arrays[id];
  }
  void cancel(std::int64_t id) override {
    cancelled.push_back(id);
    for (auto& t : arrays[id]) {
      if (!slurm::is_terminal(t.state)) {
        t.state = "CANCELLED";
      }
    }
  }
  void set(std::int64_t id, std::int64_t task, const std::string& state, std::optional<int> code = std::nullopt) {
    for (auto& t : arrays[id]) {
      if (t.task == task) {
        t.state = state;
        t.exit_code = code;
      }
    }
  }
};

struct Fixture {
  test::TempDir dir;
  std::filesystem::path db_path = dir / "results/moexp.db";
  store::ResultStore db{(std::filesystem::create_directories(dir / "results"), db_path.string())};
  FakeSlurm slurm;
  std::vector<WorkItem> items;
  std::vector<ExecutorEvent> events;
  SlurmExecutor executor;

  explicit Fixture(int runs, std::int64_t retries = 1)
      : executor(slurm, db, options(retries), [this](const ExecutorEvent& e) { events.push_back(e); }) {
    for (int i = 0; i < runs; ++i) {
      const auto name = fmt::format("r{}", i);
      store::NewRun row{.name = name, .config_hash = fmt::format("hash{}", i)};
      items.push_back({db.runs().create_pending(row), name});
    }
  }
  SlurmExecutorOptions options(std::int64_t retries) {
    SlurmExecutorOptions o;
    o.sweep_name = "fake sweep";
    o.moexp_exe = "/opt/moexp/bin/moexp";
    o.db_path = db_path;
    o.retries = retries;
    o.poll = std::chrono::milliseconds(1);
    o.cancel_wait = std::chrono::seconds(0);
    return o;
  }
  // What a task's wrapper and moexp itself leave behind when the run ends with `code`: the run's journal (its start
  // with the uid the sweep wrote into the folder, and its end) and the exit file.
  void run_ends(std::int64_t array, std::int64_t task, std::int64_t run_id, int code, RunStatus status) {
    const auto dir_ = db_path.parent_path() / "runs" / std::to_string(run_id);
    std::filesystem::create_directories(dir_);
    {
      journal::JournalSink journal(journal::journal_path(dir_));
      journal.start({.uid = std::string(core::trim(test::read_file(dir_ / "run.uid"))),
                     .run_id = run_id,
                     .device = "cpu",
                     .host = "node1",
                     .pid = 4242});
      journal.end(status, code == 0 ? "" : "boom");
    }
    std::ofstream(exit_file(dir_, array, task)) << code << " 100.0 112.5\n";
    slurm.set(array, task, code == 0 ? "COMPLETED" : "FAILED", code);
  }
  RunStatus status(std::int64_t run_id) { return db.runs().find(run_id)->status; }
};

}  // namespace

TEST_CASE("slurm executor: one array per submission, a script per array, one open task row per run") {
  Fixture f(3);
  const auto array = f.executor.submit_array(f.items);
  CHECK(array == 100);
  REQUIRE(f.slurm.submitted.size() == 1);
  const auto args = f.slurm.submitted[0];
  CHECK(args[0] == "--array=0-2");
  CHECK(args[1] == "--no-requeue");
  const std::filesystem::path script = args.back();
  CHECK(script.parent_path() == f.db_path.parent_path() / "slurm" / "fake_sweep");  // a folder name from the sweep
  const auto text = test::read_file(script);
  CHECK(text.find("RUNS=( 1 2 3 )") != std::string::npos);
  CHECK(text.find("'/opt/moexp/bin/moexp' train --resume \"$RUN\" --run-folder \"$DIR\"") != std::string::npos);
  CHECK(text.find("--db") == std::string::npos);  // tasks never open the database
  for (const auto& item : f.items) {              // each task's setup is in its run folder
    const auto folder = store::run_folder(f.db_path.string(), item.run_id);
    CHECK(test::read_file(folder / "run.uid") == f.db.runs().find(item.run_id)->uid + "\n");
    CHECK(std::filesystem::exists(folder / "config.toml"));
  }
  CHECK(text.find("--device cpu") != std::string::npos);
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).size() == 3);
  CHECK(f.executor.in_flight() == std::set<std::int64_t>{1, 2, 3});
  // A second submission gets its own script.
  f.executor.submit({f.items[0]});
  CHECK(f.slurm.submitted[1].back() != args.back());
  CHECK(f.slurm.submitted[1][0] == "--array=0-0");
}

TEST_CASE("slurm executor: running, finished, diverged and failed tasks become attempts and failures are resubmitted") {
  Fixture f(4, 1);
  f.executor.submit(f.items);
  SweepSummary summary;
  f.slurm.set(100, 0, "RUNNING");
  CHECK(f.executor.poll_once(Retry::yes, summary).empty());
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].kind == ExecutorEvent::Kind::started);
  CHECK(f.events[0].slot == "slurm 100_0");

  f.run_ends(100, 0, 1, 0, RunStatus::finished);
  f.run_ends(100, 1, 2, 3, RunStatus::diverged);
  f.run_ends(100, 2, 3, 1, RunStatus::failed);
  f.slurm.set(100, 3, "NODE_FAIL");  // its node died: no exit file, the run row still says pending
  auto retries = f.executor.poll_once(Retry::yes, summary);
  CHECK(summary.finished == 1);
  CHECK(summary.diverged == 1);
  REQUIRE(retries.size() == 2);
  CHECK(retries[0].run_id == 3);
  CHECK(retries[1].run_id == 4);
  CHECK(f.status(4) == RunStatus::failed);
  CHECK(f.db.runs().find(4)->error == "Slurm task 100_3 ended NODE_FAIL");
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).empty());
  CHECK(f.db.sweeps().attempt_count(3) == 1);
  auto rows = f.db.sweeps().runs(0);  // no sweep linked: empty
  CHECK(rows.empty());
}

TEST_CASE("slurm executor: watch resubmits within the retry budget and stops when every task settled") {
  Fixture f(2, 1);
  f.executor.submit(f.items);
  f.run_ends(100, 0, 1, 0, RunStatus::finished);
  f.run_ends(100, 1, 2, 1, RunStatus::failed);
  f.slurm.on_submit = [&](std::int64_t array) { f.run_ends(array, 0, 2, 1, RunStatus::failed); };  // fails again
  std::atomic<bool> stop{false};
  auto summary = f.executor.watch(stop);
  CHECK(summary.finished == 1);
  CHECK(summary.failed == 1);
  CHECK(summary.attempts == 3);
  CHECK(f.slurm.submitted.size() == 2);  // the retry; no third attempt
  CHECK(f.slurm.submitted[1][0] == "--array=0-0");
  CHECK(f.db.sweeps().attempt_count(2) == 2);
  CHECK(f.status(2) == RunStatus::failed);
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).empty());
}

TEST_CASE("slurm executor: a stop cancels the arrays and marks running and pending runs interrupted") {
  Fixture f(3);
  f.executor.submit(f.items);
  f.db.resume_run(1, 0, "cpu", "node1", 4242);  // task 0 started its run
  f.slurm.set(100, 0, "RUNNING");
  SweepSummary ignored;
  f.executor.poll_once(Retry::yes, ignored);
  std::atomic<bool> stop{true};
  auto summary = f.executor.watch(stop);
  CHECK(summary.stopped);
  CHECK(f.slurm.cancelled == std::vector<std::int64_t>{100});
  CHECK(summary.interrupted == 3);
  for (std::int64_t id = 1; id <= 3; ++id) {
    CHECK(f.status(id) == RunStatus::interrupted);
  }
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).empty());
}

TEST_CASE("slurm executor: an unreachable controller changes nothing and vanished tasks count as failed") {
  Fixture f(2);
  f.executor.submit(f.items);
  f.slurm.reachable = false;
  SweepSummary summary;
  CHECK(f.executor.poll_once(Retry::yes, summary).empty());
  CHECK(summary.attempts == 0);
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).size() == 2);
  f.slurm.reachable = true;
  f.slurm.arrays[100].clear();  // purged, and no jobcomp record
  auto retries = f.executor.poll_once(Retry::yes, summary);
  CHECK(retries.size() == 2);
  CHECK(f.status(1) == RunStatus::failed);
}

TEST_CASE("slurm executor: a refused submission throws with sbatch's words and records nothing") {
  Fixture f(1);
  f.slurm.refuse = true;
  CHECK_THROWS_WITH_AS(f.executor.submit(f.items), doctest::Contains("Invalid partition name"), Error);
  CHECK(f.db.sweeps().open_slurm_tasks(std::nullopt).empty());
}

TEST_CASE("slurm submission: sbatch arguments from the [slurm] table and the executor timeout") {
  ArrayJob job{"grid", {7, 8, 9, 10}, "/bin/moexp", "/data/results/moexp.db", "/data/results/slurm/grid", "cuda"};
  config::SlurmSettings s;
  s.partition = "gpu";
  s.gres = "gpu:1";
  s.cpus_per_task = 8;
  s.mem = "32G";
  s.array_parallelism = 2;
  s.args = {"--constraint=h100"};
  auto args = sbatch_arguments(job, s, 5400, "/x/submit-1.sh");
  const std::vector<std::string> expected{"--array=0-3%2",
                                          "--no-requeue",
                                          "--job-name=moexp-grid",
                                          "--output=/data/results/slurm/grid/%A_%a.out",
                                          "--error=/data/results/slurm/grid/%A_%a.err",
                                          "--partition=gpu",
                                          "--gres=gpu:1",
                                          "--cpus-per-task=8",
                                          "--mem=32G",
                                          "--time=90",
                                          "--constraint=h100",
                                          "/x/submit-1.sh"};
  CHECK(args == expected);
  s.time = "1-00:00:00";
  CHECK(sbatch_arguments(job, s, 5400, "/x/s.sh")[9] == "--time=1-00:00:00");
  CHECK(slurm_device(s) == "cuda");
  CHECK(slurm_device(config::SlurmSettings{}) == "cpu");
  CHECK(batch_script(job).find("--device cuda:0") != std::string::npos);
  job.db_path = "/it's here/moexp.db";
  CHECK(batch_script(job).find("DIR='/it'\\''s here/runs'/$RUN") != std::string::npos);
}

TEST_CASE("slurm submission: task outcomes from Slurm's record, the exit file and the run row") {
  auto rec = [](const char* state) { return slurm::TaskRecord{0, state, "", std::nullopt, std::nullopt}; };
  TaskEvidence e;
  e.record = rec("RUNNING");
  e.run_status = RunStatus::running;
  CHECK_FALSE(task_outcome(e));
  e.record = rec("COMPLETING");
  e.exit = TaskExit{0, 1};
  CHECK_FALSE(task_outcome(e));  // the wrapper has not exited yet
  e.record = rec("COMPLETED");
  e.run_status = RunStatus::finished;
  CHECK(task_outcome(e) == AttemptOutcome::finished);
  e.record = rec("FAILED");
  e.run_status = RunStatus::diverged;
  CHECK(task_outcome(e) == AttemptOutcome::diverged);
  e.run_status = RunStatus::failed;
  CHECK(task_outcome(e) == AttemptOutcome::failed);
  e.record = rec("TIMEOUT");
  e.run_status = RunStatus::interrupted;  // moexp caught the SIGTERM of the time limit
  CHECK(task_outcome(e) == AttemptOutcome::timeout);
  e.record = rec("CANCELLED");
  CHECK(task_outcome(e) == AttemptOutcome::interrupted);
  e.record.reset();
  e.exit.reset();
  e.run_status = RunStatus::pending;
  CHECK(task_outcome(e) == AttemptOutcome::failed);  // gone without a trace
  e.cancelled = true;
  CHECK(task_outcome(e) == AttemptOutcome::interrupted);
  e.cancelled = false;
  e.exit = TaskExit{130, 2};
  CHECK(task_outcome(e) == AttemptOutcome::interrupted);
}
