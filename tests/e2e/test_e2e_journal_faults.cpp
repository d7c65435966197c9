// Fault drills of runs that write journals (`[executor] journal = true`), through the real binary: a run killed
// mid-epoch, a journal with a torn last record, the same journals ingested again.
#include "e2e/process.hpp"
#include "e2e/sweep_fixture.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <thread>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

std::vector<journal::JournalEntry> journal_entries(const fs::path& path) {
  std::vector<journal::JournalEntry> entries;
  for (const auto& payload : journal::read_records(path).records) {
    entries.push_back(journal::decode_entry(payload));
  }
  return entries;
}

// Every epoch of run `id` is in the database once, numbered 1..epochs.
void check_epochs_once(store::ResultStore& db, std::int64_t id, int epochs) {
  const auto rows = db.metrics().epochs(id);
  REQUIRE(rows.size() == static_cast<std::size_t>(epochs));
  for (int e = 1; e <= epochs; ++e) {
    CHECK(rows[static_cast<std::size_t>(e - 1)].epoch == e);
  }
}

}  // namespace

TEST_CASE("e2e journal: a run killed mid-epoch resumes from its checkpoint and its journal agrees with it") {
  constexpr int kEpochs = 12;
  SweepDir d(kEpochs, "journal = true\n");  // retries = 1: the killed attempt is retried
  const pid_t sweep = spawn(d.sweep_argv(), d.dir / "s.out", d.dir / "s.err");
  pid_t victim = 0;
  REQUIRE(wait_for_moment(d, sweep, [&](const std::vector<store::RunRow>& rows, pid_t) {
    for (const auto& r : rows) {  // a run two epochs in, as far as the sweep has ingested its journal
      if (r.id == 1 && r.status == RunStatus::running && r.pid && r.epochs_done >= 2) {
        victim = static_cast<pid_t>(*r.pid);
        return true;
      }
    }
    return false;
  }));
  ::kill(victim, SIGKILL);
  const int code = wait_for(sweep);
  INFO(read_file(d.dir / "s.out") << read_file(d.dir / "s.err"));
  CHECK(code == 0);

  store::ResultStore db(d.db_path, store::OpenMode::read_only);
  CHECK(db.runs().find(1)->status == RunStatus::finished);
  CHECK(db.sweeps().attempt_count(1) == 2);
  CHECK(db.sweeps().spent_attempts(1) == 1);  // the kill was the run's own failure: it spent its one retry
  for (std::int64_t id = 1; id <= 6; ++id) {
    check_epochs_once(db, id, kEpochs);
  }
  // The journal: the first process's start and epochs, then the second's start keeping what the checkpoint held.
  const auto entries = journal_entries(journal::journal_path(store::run_folder(d.db_path, 1)));
  std::vector<std::int64_t> keeps;
  std::vector<int> first_epochs;
  for (const auto& entry : entries) {
    if (const auto* start = std::get_if<journal::JournalStart>(&entry)) {
      keeps.push_back(start->keep_epochs);
    } else if (const auto* epoch = std::get_if<EpochRecord>(&entry); epoch && keeps.size() == 1) {
      first_epochs.push_back(epoch->epoch);
    }
  }
  REQUIRE(keeps.size() == 2);
  CHECK(keeps[0] == 0);
  // The checkpoint is renamed into place after its epoch's record is synced: it never holds an epoch the journal
  // lacks, and lags it by at most the epoch being checkpointed when the kill came.
  const auto first_count = static_cast<std::int64_t>(first_epochs.size());
  CHECK(keeps[1] >= 1);
  CHECK(keeps[1] <= first_count);
  CHECK(keeps[1] >= first_count - 1);
  CHECK(std::holds_alternative<journal::JournalEnd>(entries.back()));
}

TEST_CASE("e2e journal: a torn last record is left for later, cut by the resumed run, and nothing is lost or doubled") {
  constexpr int kEpochs = 20;  // the database lags the journals by up to a second: run 1 must not be done by then
  SweepDir d(kEpochs, "journal = true\n");
  // The sweep dies two epochs into run 1; its children end with it (PR_SET_PDEATHSIG).
  REQUIRE(kill_sweep_when(d, [](const std::vector<store::RunRow>& rows, pid_t) {
    return std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.id == 1 && r.epochs_done >= 2; });
  }));
  const fs::path path = journal::journal_path(store::run_folder(d.db_path, 1));
  // Wait for run 1's process to have ended (its end record synced), then tear a copy of its last record onto the end:
  // what a writer killed in the middle of an append leaves.
  for (int i = 0; i < 2000; ++i) {
    const auto entries = journal_entries(path);
    if (std::holds_alternative<journal::JournalEnd>(entries.back())) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto ended = journal_entries(path);
  REQUIRE(std::holds_alternative<journal::JournalEnd>(ended.back()));
  REQUIRE(std::get<journal::JournalEnd>(ended.back()).status == RunStatus::interrupted);  // to be resumed
  const auto whole = journal::read_records(path);
  REQUIRE(whole.trailing_bytes == 0);
  const std::string bytes = read_file(path);
  const std::size_t last_size = 8 + whole.records.back().size();
  const std::string torn = bytes.substr(bytes.size() - last_size, last_size / 2);
  std::ofstream(path, std::ios::binary | std::ios::app) << torn;
  REQUIRE(journal::read_records(path).trailing_bytes == torn.size());

  // sweep status applies the whole records and leaves the torn tail.
  auto status = run({MOEXP_BIN, "sweep", "status", "tiny-sweep", "--db", d.db_path}, d.dir.path());
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  {
    store::ResultStore db(d.db_path, store::OpenMode::read_only);
    const auto progress = db.journal_progress(1);
    CHECK(progress.records == static_cast<std::int64_t>(whole.records.size()));
    CHECK(progress.byte_offset == static_cast<std::int64_t>(whole.end_offset));
  }
  // The rerun resumes every run; run 1's writer cuts the torn tail and its records follow the last whole one.
  check_rerun_completes(d, kEpochs);
  const auto after = journal::read_records(path);
  CHECK(after.trailing_bytes == 0);
  CHECK(after.records.size() > whole.records.size());
  store::ResultStore db(d.db_path);
  for (std::int64_t id = 1; id <= 6; ++id) {
    check_epochs_once(db, id, kEpochs);
  }
  CHECK(db.integrity_problems().empty());

  // Ingesting the same journals again, through the binary, applies nothing and changes nothing.
  const auto applied = db.journal_progress(1).records;
  auto again = run({MOEXP_BIN, "sweep", "status", "tiny-sweep", "--db", d.db_path}, d.dir.path());
  CHECK(again.exit_code == 0);
  CHECK(again.err.empty());
  CHECK(db.journal_progress(1).records == applied);
  CHECK(applied == static_cast<std::int64_t>(after.records.size()));
  for (std::int64_t id = 1; id <= 6; ++id) {
    check_epochs_once(db, id, kEpochs);
  }
}
