// ResultStore: opening, migrating and read-only use of the database, and what spans its stores (epochs, resume).
#include "core/error.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"
#include "store/store_sink.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;
using moexp::test::sample_epoch;
using moexp::test::sample_run;
using moexp::test::single_value;

TEST_CASE("store: epochs and routing statistics are recorded per split, layer and expert") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  StoreSink sink(db, id);
  sink.record_epoch(sample_epoch(1));
  sink.record_epoch(sample_epoch(2));
  auto epochs = db.metrics().epochs(id);
  REQUIRE(epochs.size() == 2);
  CHECK(epochs[1].epoch == 2);
  CHECK(epochs[1].at("test_acc") == doctest::Approx(0.45));
  CHECK(db.routing().layer_stats(id).size() == 4);    // 2 epochs x 2 splits x 1 layer
  CHECK(db.routing().expert_stats(id).size() == 16);  // ... x 4 experts
  auto row = db.runs().find(id);
  CHECK(row->epochs_done == 2);
  CHECK(row->wall_seconds == doctest::Approx(4.0));
  db.runs().finish(id, RunStatus::finished);
  row = db.runs().find(id);
  CHECK(row->status == RunStatus::finished);
  CHECK_FALSE(row->finished_at.empty());
  CHECK(row->error.empty());
}

TEST_CASE("store: resume drops the epochs after the checkpoint and marks the run running") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  for (int e = 1; e <= 3; ++e) {
    db.record_epoch(id, sample_epoch(e));
  }
  db.runs().finish(id, RunStatus::interrupted, "stopped");
  db.resume_run(id, 2, "cpu", "host2", 7);
  auto row = db.runs().find(id);
  CHECK(row->status == RunStatus::running);
  CHECK(row->epochs_done == 2);
  CHECK(row->host == "host2");
  CHECK(row->error.empty());
  CHECK(row->wall_seconds == doctest::Approx(4.0));
  CHECK(db.metrics().epochs(id).size() == 2);
  CHECK(db.routing().expert_stats(id).size() == 16);
}

TEST_CASE("store: a file database is created with WAL and the current schema version, and reopens") {
  test::TempDir dir;
  const auto path = (dir / "sub/moexp.db").string();
  {
    ResultStore db(path);
    db.runs().create(sample_run());
  }
  ResultStore again(path);
  CHECK(again.runs().find(1));
  Database raw(path);
  CHECK(single_value(raw, "PRAGMA user_version")->column_int(0) == current_schema_version());
  CHECK(single_value(raw, "PRAGMA journal_mode")->column_text(0) == "wal");
  CHECK(single_value(raw, "PRAGMA page_size")->column_int(0) == 1024);
}

TEST_CASE("store: a database from a newer moexp is refused") {
  test::TempDir dir;
  const auto path = (dir / "new.db").string();
  {
    Database raw(path);
    raw.exec("PRAGMA user_version = 999");
  }
  CHECK_THROWS_AS(ResultStore{path}, StoreError);
}

TEST_CASE("store: read-only opens never create, write or migrate") {
  test::TempDir dir;
  const auto empty = test::write_file(dir / "empty.db", "");
  CHECK_THROWS_WITH_AS(ResultStore(empty.string(), OpenMode::read_only),
                       doctest::Contains("is empty or not a moexp database"), InputError);
  CHECK(std::filesystem::file_size(empty) == 0);
  CHECK_THROWS_AS(ResultStore((dir / "missing.db").string(), OpenMode::read_only), InputError);
  CHECK_FALSE(std::filesystem::exists(dir / "missing.db"));
  const auto path = (dir / "real.db").string();
  {
    ResultStore db(path);
    db.runs().create({"r", "", "h", {}, "cpu", "host", 1, {}});
  }
  ResultStore reader(path, OpenMode::read_only);
  CHECK(reader.runs().find(1)->name == "r");
  CHECK_THROWS_AS(reader.runs().create({"r2", "", "h2", {}, "cpu", "host", 1, {}}), StoreError);
}

TEST_CASE("store: an epoch recorded again replaces its metrics and routing, and later epochs are untouched") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  db.record_epoch(id, sample_epoch(1));
  db.record_epoch(id, sample_epoch(2));
  EpochRecord again = sample_epoch(1);
  again.metrics.clear();
  again.set("test", "acc", 0.9);
  again.set("", "seconds", 1.0);
  again.test_routing.clear();  // only the train split this time
  db.record_epoch(id, again);
  auto epochs = db.metrics().epochs(id);
  REQUIRE(epochs.size() == 2);
  CHECK(epochs[0].metrics.size() == 2);  // the earlier record of epoch 1 is gone, not merged
  CHECK(epochs[0].at("test_acc") == doctest::Approx(0.9));
  CHECK(epochs[1].metrics.size() == 8);
  auto snaps = db.routing().snapshots(id);
  REQUIRE(snaps.size() == 3);  // epoch 1: train; epoch 2: train, test
  CHECK(*snaps[0].epoch == 1);
  CHECK(snaps[0].split == "train");
  CHECK(*snaps[1].epoch == 2);
}
