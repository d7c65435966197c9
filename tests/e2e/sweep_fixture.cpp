#include "e2e/sweep_fixture.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <set>
#include <thread>

namespace moexp::test {

SweepDir::SweepDir(int epochs, const std::string& executor_extra) {
  write_file(dir / "tiny.toml", tiny_experiment_toml());
  spec = write_file(dir / "sweep.toml",
                    "name = \"tiny-sweep\"\nbase = \"tiny.toml\"\nseeds = [0, 1, 2]\n"
                    "[executor]\njobs = 2\nthreads = 1\n" +
                        executor_extra + "[fixed]\n\"train.epochs\" = " + std::to_string(epochs) +
                        "\n[grid]\n\"constraint.kind\" = [\"importance\", \"relative\"]\n");
}

std::vector<std::string> SweepDir::sweep_argv(std::vector<std::string> extra) const {
  std::vector<std::string> argv{MOEXP_BIN, "sweep", spec.string(), "--db", db_path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

ProcessResult SweepDir::sweep(std::vector<std::string> extra) const {
  return run(sweep_argv(std::move(extra)), dir.path());
}

bool wait_for_moment(const SweepDir& d, pid_t sweep, const SweepMoment& moment) {
  for (int i = 0; i < 12000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!std::filesystem::exists(d.db_path)) {
      continue;
    }
    try {
      store::ResultStore db(d.db_path, store::OpenMode::read_only);
      std::vector<store::RunRow> rows;
      for (std::int64_t id = 1; id <= 6; ++id) {
        if (auto row = db.runs().find(id)) {
          rows.push_back(*row);
        }
      }
      if (moment(rows, sweep)) {
        return true;
      }
    } catch (const std::exception&) {
      // the database is still being created or migrated
    }
  }
  return false;
}

bool kill_sweep_when(SweepDir& d, const SweepMoment& moment) {
  const pid_t pid = spawn(d.sweep_argv(), d.dir / "s.out", d.dir / "s.err");
  const bool came = wait_for_moment(d, pid, moment);
  ::kill(pid, SIGKILL);
  wait_for(pid);
  return came;
}

void check_rerun_completes(SweepDir& d, int epochs) {
  auto rerun = run(d.sweep_argv(), d.dir.path(), 240);
  INFO(rerun.out << rerun.err);
  REQUIRE_FALSE(rerun.timed_out);
  CHECK(rerun.exit_code == 0);
  store::ResultStore db(d.db_path);
  std::set<std::string> hashes;
  for (std::int64_t id = 1; id <= 6; ++id) {
    auto row = db.runs().find(id);
    REQUIRE(row);
    CHECK(row->status == RunStatus::finished);
    CHECK(row->epochs_done == epochs);
    CHECK(db.metrics().epochs(id).size() == static_cast<std::size_t>(epochs));
    CHECK_FALSE(row->claim_pid);  // every claim released
    CHECK(db.sweeps().attempt_count(id) >= 1);
    hashes.insert(row->config_hash);
  }
  CHECK(hashes.size() == 6);
  CHECK_FALSE(db.runs().find(7));
}

}  // namespace moexp::test
