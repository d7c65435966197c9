// sweep_status: the status command ingests what the sweep's journal-writing runs recorded before it prints.
#include "core/hash.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "sweep/run_sweep.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("sweep status: an in-flight journal run's epochs reach the database before the table is printed") {
  test::TempDir dir;
  const auto db_path = (dir / "moexp.db").string();
  std::int64_t run = 0;
  {
    store::ResultStore db(db_path);
    const auto sweep = db.sweeps().upsert("s", "s.toml", "h");
    db.sweeps().begin_plan(sweep);
    run = db.runs().create_pending({.name = "r", .config_hash = "hash0"});
    db.sweeps().link_run(sweep, run, 0, "x");
    journal::JournalSink sink(journal::journal_path(store::run_folder(db_path, run)));
    sink.start({.uid = db.runs().find(run)->uid, .run_id = run, .device = "cpu", .host = "node2", .pid = 7});
    EpochRecord epoch;
    epoch.epoch = 1;
    epoch.set("test", "acc", 0.75);
    epoch.set("", "seconds", 1);
    sink.record_epoch(epoch);
  }
  CHECK(sweep::sweep_status("s", db_path, "test_acc") == 0);
  store::ResultStore db(db_path, store::OpenMode::read_only);
  const auto row = db.runs().find(run);
  CHECK(row->status == RunStatus::running);
  CHECK(row->host == "node2");
  CHECK(row->epochs_done == 1);
  CHECK(db.metrics().epochs(run).at(0).at("test_acc") == 0.75);
}
