// ResultStore::ingest_journal: a run journal applied exactly once, incrementally, across torn tails, resumes and
// kills, and refused when it is another run's or another database's.
#include "core/error.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace moexp;
using namespace moexp::store;
namespace fs = std::filesystem;

namespace {

struct JournalFixture {
  test::TempDir dir;
  std::string db_path = (dir / "moexp.db").string();
  ResultStore db{db_path};
  std::int64_t run = db.runs().create([] {
    auto row = test::sample_run();
    row.classes.clear();  // a sweep's pending run: classes come with its start
    return row;
  }());
  fs::path journal = journal::journal_path(run_folder(db_path, run));

  journal::JournalStart start(std::int64_t keep_epochs = 0) {
    return {.uid = db.runs().find(run)->uid,
            .run_id = run,
            .keep_epochs = keep_epochs,
            .device = "cuda:0",
            .host = "node7",
            .pid = 4242,
            .classes = {{"a", 0, "A"}, {"b", 1, "B"}}};
  }
  // Epoch `epoch` with its test accuracy set to `acc`.
  static EpochRecord epoch(int epoch, double acc = 0.5) {
    auto e = test::sample_epoch(epoch);
    e.set("test", "acc", acc);
    return e;
  }
  double stored_acc(int epoch) {
    for (const auto& e : db.metrics().epochs(run)) {
      if (e.epoch == epoch) {
        return e.at("test_acc");
      }
    }
    FAIL("no epoch " << epoch);
    return 0;
  }
};

}  // namespace

TEST_CASE("journal ingest: a whole journal is applied once, and a second ingest applies nothing") {
  JournalFixture f;
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
    sink.record_epoch(JournalFixture::epoch(1, 0.25));
    sink.record_epoch(JournalFixture::epoch(2, 0.5));
    sink.end(RunStatus::finished, "");
  }
  const auto first = f.db.ingest_journal(f.run, f.journal);
  CHECK(first.applied == 4);
  CHECK(first.total == 4);
  CHECK(first.ended == RunStatus::finished);
  const auto row = f.db.runs().find(f.run);
  CHECK(row->status == RunStatus::finished);
  CHECK(row->epochs_done == 2);
  CHECK(row->host == "node7");
  CHECK(row->device == "cuda:0");
  CHECK(f.db.runs().classes(f.run).size() == 2);  // the start's classes
  CHECK(f.stored_acc(1) == 0.25);
  CHECK(f.stored_acc(2) == 0.5);
  CHECK(f.db.routing().snapshots(f.run).size() == 4);  // train and test routing of both epochs
  const auto again = f.db.ingest_journal(f.run, f.journal);
  CHECK(again.applied == 0);
  CHECK(again.total == 4);
  CHECK(f.db.metrics().epochs(f.run).size() == 2);
}

TEST_CASE("journal ingest: a growing journal is applied in pieces, a torn tail waits for the next ingest") {
  JournalFixture f;
  CHECK(f.db.ingest_journal(f.run, f.journal).applied == 0);  // no journal yet
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
    sink.record_epoch(JournalFixture::epoch(1));
  }
  CHECK(f.db.ingest_journal(f.run, f.journal).applied == 2);
  CHECK(f.db.runs().find(f.run)->status == RunStatus::running);
  {
    journal::JournalSink sink(f.journal);  // the same process, later: appends
    sink.record_epoch(JournalFixture::epoch(2));
  }
  // A writer killed in the middle of epoch 3's record.
  const auto whole = fs::file_size(f.journal);
  {
    std::ofstream torn(f.journal, std::ios::binary | std::ios::app);
    torn << std::string("\x40\x00\x00\x00\x01\x02", 6);
  }
  const auto piece = f.db.ingest_journal(f.run, f.journal);
  CHECK(piece.applied == 1);
  CHECK(piece.total == 3);
  CHECK(piece.torn_bytes == 6);
  CHECK(f.db.runs().find(f.run)->epochs_done == 2);
  // The run resumes from its epoch-2 checkpoint: its writer cuts the torn tail and carries on.
  {
    journal::JournalSink sink(f.journal);
    CHECK(fs::file_size(f.journal) == whole);
    sink.start(f.start(2));
    sink.record_epoch(JournalFixture::epoch(3));
    sink.end(RunStatus::finished, "");
  }
  const auto rest = f.db.ingest_journal(f.run, f.journal);
  CHECK(rest.applied == 3);
  CHECK(rest.torn_bytes == 0);
  CHECK(f.db.runs().find(f.run)->epochs_done == 3);
  CHECK(f.db.runs().find(f.run)->status == RunStatus::finished);
  CHECK(f.db.metrics().epochs(f.run).size() == 3);
}

TEST_CASE("journal ingest: a resume that keeps fewer epochs replaces the later ones with the new process's") {
  JournalFixture f;
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
    for (int e = 1; e <= 3; ++e) {
      sink.record_epoch(JournalFixture::epoch(e, 0.1 * e));
    }
    // Killed after epoch 3's record but before its checkpoint: the resume starts from epoch 2's checkpoint.
    sink.start(f.start(2));
    sink.record_epoch(JournalFixture::epoch(3, 0.9));
    sink.record_epoch(JournalFixture::epoch(4, 0.95));
    sink.end(RunStatus::finished, "");
  }
  CHECK(f.db.ingest_journal(f.run, f.journal).applied == 8);
  CHECK(f.db.metrics().epochs(f.run).size() == 4);
  CHECK(f.stored_acc(2) == doctest::Approx(0.2));
  CHECK(f.stored_acc(3) == 0.9);
  CHECK(f.stored_acc(4) == 0.95);
}

TEST_CASE("journal ingest: another database's or run's journal, or one without a start, is refused, nothing applied") {
  JournalFixture f;
  auto foreign = f.start();
  std::string expected;
  SUBCASE("another database's run of the same id") {
    foreign.uid = "0000feedface0000";
    expected = "it belongs to another database or run";
  }
  SUBCASE("another run's journal copied into this folder") {
    foreign.run_id = f.run + 1;
    expected = "written for run " + std::to_string(f.run + 1);
  }
  {
    journal::JournalSink sink(f.journal);
    sink.start(foreign);
    sink.record_epoch(JournalFixture::epoch(1));
  }
  CHECK_THROWS_WITH_AS(f.db.ingest_journal(f.run, f.journal), doctest::Contains(expected.c_str()), InputError);
  CHECK(f.db.metrics().epochs(f.run).empty());
  CHECK(f.db.runs().find(f.run)->host == "host");  // not resumed by the foreign start
  fs::remove(f.journal);
  {
    journal::JournalSink sink(f.journal);
    sink.record_epoch(JournalFixture::epoch(1));
  }
  CHECK_THROWS_WITH_AS(f.db.ingest_journal(f.run, f.journal), doctest::Contains("does not begin with a start entry"),
                       InputError);
  CHECK(f.db.metrics().epochs(f.run).empty());
}

TEST_CASE("journal ingest: killed at any moment of an ingest, the next one loses and repeats nothing") {
  JournalFixture f;
  constexpr int kEpochs = 60;
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
    for (int e = 1; e <= kEpochs; ++e) {
      sink.record_epoch(JournalFixture::epoch(e, e / 100.0));
    }
    sink.end(RunStatus::finished, "");
  }
  // Ingesting processes killed after 0 to 12 ms: before, during or after their one transaction.
  for (int delay_ms : {0, 1, 2, 4, 8, 12}) {
    const pid_t child = ::fork();
    if (child == 0) {
      ResultStore db(f.db_path);
      db.ingest_journal(f.run, f.journal);
      ::pause();  // done: wait to be killed
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  const auto last = f.db.ingest_journal(f.run, f.journal);
  CHECK(last.total == kEpochs + 2);
  const auto epochs = f.db.metrics().epochs(f.run);
  REQUIRE(epochs.size() == kEpochs);
  for (int e = 1; e <= kEpochs; ++e) {
    CHECK(epochs[static_cast<std::size_t>(e - 1)].epoch == e);
    CHECK(epochs[static_cast<std::size_t>(e - 1)].at("test_acc") == e / 100.0);
  }
  CHECK(f.db.runs().find(f.run)->status == RunStatus::finished);
  CHECK(f.db.integrity_problems().empty());
  CHECK(f.db.ingest_journal(f.run, f.journal).applied == 0);
}

TEST_CASE("journal ingest: a journal replaced by another, shorter or not, is refused") {
  JournalFixture f;
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
    sink.record_epoch(JournalFixture::epoch(1));
  }
  f.db.ingest_journal(f.run, f.journal);
  fs::remove(f.journal);
  {
    journal::JournalSink sink(f.journal);
    sink.start(f.start());
  }
  CHECK_THROWS_WITH_AS(f.db.ingest_journal(f.run, f.journal), doctest::Contains("was it replaced?"), InputError);
  {
    journal::JournalSink sink(f.journal);  // now as long as the first, and longer
    sink.record_epoch(JournalFixture::epoch(1));
    sink.record_epoch(JournalFixture::epoch(2));
  }
  CHECK_THROWS_WITH_AS(f.db.ingest_journal(f.run, f.journal), doctest::Contains("replaced since 2 of its records"),
                       InputError);
  CHECK(f.db.metrics().epochs(f.run).size() == 1);
}
