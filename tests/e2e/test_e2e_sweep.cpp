// moexp sweep through the real binary: tiny synthetic runs as real child processes.
#include "core/error.hpp"
#include "e2e/process.hpp"
#include "e2e/sweep_fixture.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <set>
#include <thread>

using namespace moexp;
using namespace moexp::test;

TEST_CASE("e2e sweep: six tiny runs on two slots finish and a second invocation skips them") {
  SweepDir d(1);
  auto dry = d.sweep({"--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("6 runs") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(d.db_path));  // a dry run writes nothing
  auto first = d.sweep();
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("sweep 'tiny-sweep': 6 runs, 6 finished") != std::string::npos);
  auto second = d.sweep();
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("6 already done, 0 to run") != std::string::npos);
  auto status = run({MOEXP_BIN, "sweep", "status", "tiny-sweep", "--db", d.db_path}, d.dir.path());
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("6 finished") != std::string::npos);
  auto dry_after = d.sweep({"--dry-run"});
  CHECK(dry_after.out.find("finished") != std::string::npos);

  // The report and the run listing over the sweep, through the binary.
  auto report = run({MOEXP_BIN, "report", "tiny-sweep", "--db", d.db_path, "--format", "markdown"}, d.dir.path());
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  CHECK(report.out.find("| constraint.kind | moe.num_experts | final acc (%)") == 0);
  CHECK(report.out.find("| importance | 4 |") != std::string::npos);
  CHECK(report.out.find("| relative | 4 |") != std::string::npos);
  CHECK(report.out.find("| 3 |\n") != std::string::npos);  // n = 3 seeds
  auto compare =
      run({MOEXP_BIN, "report", "tiny-sweep", "--db", d.db_path, "--compare", "importance", "relative"}, d.dir.path());
  CHECK(compare.exit_code == 0);
  CHECK(compare.out.find("paired by seed") != std::string::npos);
  auto listing =
      run({MOEXP_BIN, "runs", "--db", d.db_path, "--where", "constraint.kind = 'relative'", "--format", "csv"},
          d.dir.path());
  CHECK(listing.exit_code == 0);
  CHECK(std::count(listing.out.begin(), listing.out.end(), '\n') == 1 + 3);
  auto bad = run({MOEXP_BIN, "runs", "--db", d.db_path, "--where", "constraint.kind = "}, d.dir.path());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("expected a value at column 19") != std::string::npos);
}

TEST_CASE("e2e sweep: SIGKILL of the sweep midway, then a rerun, finishes every run exactly once") {
  SweepDir d(6);
  pid_t pid = spawn({MOEXP_BIN, "sweep", d.spec.string(), "--db", d.db_path}, d.dir / "s.out", d.dir / "s.err");
  // Let it finish at least one run and get others going, then kill the parent without warning.
  std::int64_t finished = 0;
  for (int i = 0; i < 1200 && finished < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(d.db_path)) {
      store::ResultStore db(d.db_path);
      finished = 0;
      for (std::int64_t id = 1; id <= 6; ++id) {
        auto row = db.runs().find(id);
        finished += row && row->status == RunStatus::finished;
      }
    }
  }
  ::kill(pid, SIGKILL);
  wait_for(pid);
  REQUIRE(finished >= 1);
  REQUIRE(finished < 6);
  check_rerun_completes(d, 6);
}

TEST_CASE(
    "e2e sweep: SIGKILL of the sweep right after it claims its first runs, then a rerun neither hangs nor repeats") {
  SweepDir d(1);
  // The first claim: the child may not exist yet or not have written its pid (the orphaned-claim case).
  REQUIRE(kill_sweep_when(d, [](const std::vector<store::RunRow>& rows, pid_t) {
    return std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.status == RunStatus::running; });
  }));
  check_rerun_completes(d, 1);
}

TEST_CASE("e2e sweep: SIGKILL of the sweep once its children run, then a rerun waits for them and runs the rest once") {
  SweepDir d(3);  // three epochs: two children overlap long enough to be seen running together on a loaded machine
  REQUIRE(kill_sweep_when(d, [](const std::vector<store::RunRow>& rows, pid_t) {
    return std::count_if(rows.begin(), rows.end(),
                         [](const auto& r) { return r.status == RunStatus::running && r.pid; }) >= 2;
  }));
  check_rerun_completes(d, 3);
}

TEST_CASE("e2e sweep: two SIGKILLs of the sweep right after it starts its children cost no run its retries") {
  SweepDir d(1);  // retries = 1: two attempts charged as failures would leave a run failed for good
  for (int kill = 0; kill < 2; ++kill) {
    // This sweep's first claim: its child is starting, or just started and has not set up its signal handling.
    REQUIRE(kill_sweep_when(d, [](const std::vector<store::RunRow>& rows, pid_t sweep) {
      return std::any_of(rows.begin(), rows.end(), [&](const auto& r) {
        return r.status == RunStatus::running && r.claim_pid && *r.claim_pid == sweep;
      });
    }));
  }
  check_rerun_completes(d, 1);
  store::ResultStore db(d.db_path, store::OpenMode::read_only);
  std::int64_t interrupted = 0;
  for (std::int64_t id = 1; id <= 6; ++id) {
    CHECK(db.sweeps().spent_attempts(id) == 0);  // no attempt failed: the sweeps' deaths were not the runs' faults
  }
  for (const auto& r : db.sweeps().runs(*db.sweeps().find("tiny-sweep"))) {
    interrupted += r.attempts - 1;  // every attempt before the one that finished
  }
  CHECK(interrupted >= 2);  // each killed sweep left at least its first claimed run interrupted
}

TEST_CASE("e2e sweep: sweep status records the attempts a killed sweep left, and a rerun finishes the runs") {
  SweepDir d(3);
  REQUIRE(kill_sweep_when(d, [](const std::vector<store::RunRow>& rows, pid_t) {
    return std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r.status == RunStatus::running; }) >= 2;
  }));
  // Its children end with it (SIGTERM through PR_SET_PDEATHSIG) and record themselves interrupted; a run it had
  // claimed but not started yet stays `running` under the dead sweep's claim until someone reconciles it.
  REQUIRE(wait_for_moment(d, 0, [](const std::vector<store::RunRow>& rows, pid_t) {
    return std::none_of(rows.begin(), rows.end(),
                        [](const auto& r) { return r.status == RunStatus::running && r.pid; });
  }));
  auto status = run({MOEXP_BIN, "sweep", "status", "tiny-sweep", "--db", d.db_path}, d.dir.path());
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("attempt(s) that ended after the sweep that started them died") != std::string::npos);
  {
    store::ResultStore db(d.db_path, store::OpenMode::read_only);
    for (const auto& r : db.sweeps().runs(*db.sweeps().find("tiny-sweep"))) {
      INFO("run " << r.run_id);
      CHECK(r.status != RunStatus::running);  // no run is left looking as if it ran
      if (r.status == RunStatus::interrupted) {
        CHECK(r.attempts == 1);  // recorded by sweep status, not left for the next sweep
        CHECK_FALSE(db.runs().find(r.run_id)->claim_pid);
      }
    }
  }
  check_rerun_completes(d, 3);
}

TEST_CASE("e2e sweep: runs that write journals finish through the sweep's ingest, and need no database to run") {
  SweepDir d(2, "journal = true\n");
  auto first = d.sweep();
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("sweep 'tiny-sweep': 6 runs, 6 finished") != std::string::npos);
  {
    store::ResultStore db(d.db_path, store::OpenMode::read_only);
    for (std::int64_t id = 1; id <= 6; ++id) {
      const auto row = db.runs().find(id);
      CHECK(row->status == RunStatus::finished);
      CHECK(row->epochs_done == 2);
      CHECK(db.metrics().epochs(id).size() == 2);
      CHECK(db.runs().classes(id).size() == 10);  // the journal's start carried them
      CHECK(std::filesystem::exists(store::run_folder(d.db_path, id) / "journal.bin"));
    }
  }
  // The same run set up in a folder with no database anywhere near it: it trains and writes its journal.
  TempDir away;
  const auto folder = away / "runs/1";
  std::filesystem::create_directories(folder);
  for (const char* file : {"config.toml", "run.uid"}) {
    std::filesystem::copy_file(store::run_folder(d.db_path, 1) / file, folder / file);
  }
  auto alone = run({MOEXP_BIN, "train", "--resume", "1", "--run-folder", folder.string()}, away.path());
  INFO(alone.out << alone.err);
  REQUIRE(alone.exit_code == 0);
  CHECK(alone.out.find("results in the journal " + (folder / "journal.bin").string()) != std::string::npos);
  CHECK(std::filesystem::exists(folder / "checkpoint.pt"));
  CHECK_FALSE(std::filesystem::exists(away / "results"));
  // Its journal, ingested into the sweep's database, is that run's: start, 2 epochs, end.
  std::filesystem::remove(store::run_folder(d.db_path, 1) / "journal.bin");
  std::filesystem::copy_file(folder / "journal.bin", store::run_folder(d.db_path, 1) / "journal.bin");
  store::ResultStore db(d.db_path);
  CHECK_THROWS_WITH_AS(db.ingest_journal(1, store::run_folder(d.db_path, 1) / "journal.bin"),
                       doctest::Contains("replaced since 4 of its records"), InputError);  // not the one it read
  auto refused =
      run({MOEXP_BIN, "train", "--resume", "1", "--run-folder", folder.string(), "--db", d.db_path}, away.path());
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--run-folder goes with --resume RUN_ID only") != std::string::npos);
}

TEST_CASE("e2e sweep: a bad spec exits 2 before anything runs") {
  SweepDir d(1);
  write_file(d.spec, "base = \"tiny.toml\"\n[grid]\n\"moe.kk\" = [1]\n");
  auto r = d.sweep();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("sweep.toml:3:1: unknown key 'moe.kk' (did you mean 'moe.k'?)") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(d.db_path));
}
