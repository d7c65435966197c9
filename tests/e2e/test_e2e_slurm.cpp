// moexp sweep --backend slurm on a real one-node Slurm (scripts/slurm_up.sh, started by CTest as a fixture).
// Each test skips with a message when no cluster is up (SLURM_CONF unset or missing: slurm_up.sh needs root).
#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <thread>

using namespace moexp;
using namespace moexp::test;

namespace {

bool cluster_up() {
  const char* conf = std::getenv("SLURM_CONF");
  if (conf == nullptr || !std::filesystem::exists(conf)) {
    MESSAGE("skipped: no Slurm cluster (scripts/slurm_up.sh needs root); SLURM_CONF is unset or missing");
    return false;
  }
  return true;
}

struct SlurmSweep {
  TempDir dir;
  std::filesystem::path spec;
  std::string db_path = (dir / "results/moexp.db").string();
  explicit SlurmSweep(int epochs) {
    write_file(dir / "tiny.toml", tiny_experiment_toml());
    spec = write_file(dir / "sweep.toml",
                      fmt::format("name = \"slurm-e2e\"\nbase = \"tiny.toml\"\nseeds = [0, 1]\n"
                                  "[executor]\nbackend = \"slurm\"\nretries = 1\n[slurm]\npoll = \"0.5s\"\n"
                                  "[fixed]\n\"train.epochs\" = {}\n"
                                  "[grid]\n\"constraint.kind\" = [\"importance\", \"relative\"]\n",
                                  epochs));
    // A stand-in for the binary that fails the first attempt of run 2, then is moexp.
    auto flaky =
        write_file(dir / "flaky.sh", fmt::format("#!/bin/bash\nif [ \"$3\" = 2 ] && [ ! -e '{0}/failed-once' ]; then\n"
                                                 "  touch '{0}/failed-once'; echo 'injected failure' >&2; exit 1\nfi\n"
                                                 "exec '{1}' \"$@\"\n",
                                                 dir.path().string(), MOEXP_BIN));
    std::filesystem::permissions(flaky, std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
  }
  std::vector<std::string> sweep_argv(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{MOEXP_BIN, "sweep", spec.string(), "--db", db_path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  ProcessResult sweep(std::vector<std::string> extra = {}) { return run(sweep_argv(std::move(extra)), dir.path()); }
  ProcessResult status() { return run({MOEXP_BIN, "sweep", "status", "slurm-e2e", "--db", db_path}, dir.path()); }
};

}  // namespace

TEST_CASE("e2e slurm: four runs as one array, one fails once and is retried, all finish") {
  if (!cluster_up()) {
    return;
  }
  SlurmSweep s(1);
  auto r = s.sweep({"--moexp", (s.dir / "flaky.sh").string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("submitted Slurm array") != std::string::npos);
  CHECK(r.out.find("will retry") != std::string::npos);
  CHECK(r.out.find("sweep 'slurm-e2e': 4 runs, 4 finished") != std::string::npos);
  store::ResultStore db(s.db_path);
  for (std::int64_t id = 1; id <= 4; ++id) {
    CHECK(db.runs().find(id)->status == RunStatus::finished);
    CHECK(db.sweeps().attempt_count(id) == (id == 2 ? 2 : 1));
  }
  CHECK(db.sweeps().open_slurm_tasks(std::nullopt).empty());
  auto rows = db.sweeps().runs(*db.sweeps().find("slurm-e2e"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].slurm.find("COMPLETED") != std::string::npos);
  CHECK(rows[1].slurm.find("_0 ") != std::string::npos);  // the retry went out as its own one-task array
  auto status = s.status();
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("slurm task") != std::string::npos);
  // Nothing left to do: a second invocation submits nothing.
  auto again = s.sweep();
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("4 already done, 0 queued or running in Slurm, 0 to submit") != std::string::npos);
}

TEST_CASE("e2e slurm: Ctrl-C cancels the array and marks runs interrupted and a rerun completes them") {
  if (!cluster_up()) {
    return;
  }
  constexpr int kEpochs = 40;  // long enough to be cancelled midway on a loaded machine
  SlurmSweep s(kEpochs);
  pid_t pid = spawn(s.sweep_argv({"--array-parallelism", "2"}), s.dir / "s.out", s.dir / "s.err");
  std::int64_t trained = 0;
  for (int i = 0; i < 1200 && trained < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(s.db_path)) {
      store::ResultStore db(s.db_path);
      auto row = db.runs().find(1);
      trained = row ? row->epochs_done : 0;
    }
  }
  REQUIRE(trained >= 1);
  ::kill(pid, SIGINT);
  CHECK(wait_for(pid) == 130);
  {
    store::ResultStore db(s.db_path);
    for (std::int64_t id = 1; id <= 4; ++id) {
      INFO("run " << id);
      CHECK(db.runs().find(id)->status == RunStatus::interrupted);
    }
    CHECK(db.runs().find(1)->epochs_done < kEpochs);
    CHECK(db.sweeps().open_slurm_tasks(std::nullopt).empty());
  }
  auto rerun = s.sweep();
  INFO(rerun.out << rerun.err);
  CHECK(rerun.exit_code == 0);
  store::ResultStore db(s.db_path);
  for (std::int64_t id = 1; id <= 4; ++id) {
    CHECK(db.runs().find(id)->status == RunStatus::finished);
    CHECK(db.metrics().epochs(id).size() == kEpochs);
  }
  CHECK_FALSE(db.runs().find(5));
}

TEST_CASE("e2e slurm: --detach submits and exits and sweep status settles the runs later") {
  if (!cluster_up()) {
    return;
  }
  SlurmSweep s(1);
  auto r = s.sweep({"--detach"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("detached") != std::string::npos);
  std::string last;
  for (int i = 0; i < 120; ++i) {
    auto st = s.status();
    REQUIRE(st.exit_code == 0);
    last = st.out;
    if (last.find("4 runs, 4 finished") != std::string::npos &&
        store::ResultStore(s.db_path).sweeps().open_slurm_tasks(std::nullopt).empty()) {
      break;  // every run finished and every task settled (a task may still be COMPLETING after its run ended)
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  INFO(last);
  CHECK(last.find("4 runs, 4 finished") != std::string::npos);
  store::ResultStore db(s.db_path);
  CHECK(db.sweeps().open_slurm_tasks(std::nullopt).empty());
  CHECK(db.sweeps().attempt_count(1) == 1);
}

TEST_CASE(
    "e2e slurm: the sweep killed again and again while it ingests the tasks' journals loses and doubles nothing") {
  if (!cluster_up()) {
    return;
  }
  constexpr int kEpochs = 30;  // 4 journals of 32 records: the ingest takes long enough to be killed inside
  SlurmSweep s(kEpochs);
  auto submitted = s.sweep({"--detach"});
  INFO(submitted.out << submitted.err);
  REQUIRE(submitted.exit_code == 0);
  // Nobody ingests while the tasks run: wait until every task has written its exit file.
  auto tasks_done = [&] {
    for (std::int64_t id = 1; id <= 4; ++id) {
      bool found = false;
      for (const auto& entry : std::filesystem::directory_iterator(store::run_folder(s.db_path, id))) {
        found = found || entry.path().extension() == ".exit";
      }
      if (!found) {
        return false;
      }
    }
    return true;
  };
  for (int i = 0; i < 2400 && !tasks_done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(tasks_done());
  const std::int64_t all_records = 4 * (kEpochs + 2);  // each: a start, the epochs, the end
  auto applied = [&] {
    store::ResultStore db(s.db_path, store::OpenMode::read_only);
    std::int64_t records = 0;
    for (std::int64_t id = 1; id <= 4; ++id) {
      records += db.journal_progress(id).records;
    }
    return records;
  };
  // Rerun the sweep (it settles first, ingesting every journal) and SIGKILL it after 0, 2, 4, ... ms, until one
  // rerun outlives its delay and ends by itself.
  std::vector<std::int64_t> seen;
  int code = 137;
  for (int delay_ms = 0; delay_ms <= 2000 && code == 137; delay_ms += 2) {
    const pid_t pid = spawn(s.sweep_argv(), s.dir / "k.out", s.dir / "k.err");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    code = wait_for(pid);
    seen.push_back(applied());
  }
  MESSAGE("records applied after each kill: " << fmt::format("{}", fmt::join(seen, " ")));
  INFO(read_file(s.dir / "k.out") << read_file(s.dir / "k.err"));
  CHECK(code == 0);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  // At least one kill landed inside an ingest: some records applied, not all.
  CHECK(std::any_of(seen.begin(), seen.end(), [&](std::int64_t n) { return n > 0 && n < all_records; }));
  CHECK(seen.back() == all_records);
  store::ResultStore db(s.db_path);
  for (std::int64_t id = 1; id <= 4; ++id) {
    INFO("run " << id);
    CHECK(db.runs().find(id)->status == RunStatus::finished);
    CHECK(db.sweeps().attempt_count(id) == 1);  // settled once, however often the settling was killed
    const auto epochs = db.metrics().epochs(id);
    REQUIRE(epochs.size() == kEpochs);
    for (int e = 1; e <= kEpochs; ++e) {
      CHECK(epochs[static_cast<std::size_t>(e - 1)].epoch == e);
    }
  }
  CHECK(db.sweeps().open_slurm_tasks(std::nullopt).empty());
  CHECK(db.integrity_problems().empty());
  // The same journals ingested again (sweep status) apply nothing.
  auto again = s.status();
  CHECK(again.exit_code == 0);
  CHECK(applied() == all_records);
  CHECK(db.metrics().epochs(1).size() == kEpochs);
}
