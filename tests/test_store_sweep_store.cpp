// SweepStore: sweeps and the runs they link.
#include "store/result_store.hpp"
#include "store/run_filter.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;

TEST_CASE("store: runs a sweep's edited spec no longer plans stay linked but leave its report") {
  ResultStore db(":memory:");
  auto add = [&](const char* hash) { return db.runs().create_pending({hash, "", hash, {}, "", "", 0, {}}); };
  const auto sweep = db.sweeps().upsert("s", "s.toml", "h1");
  const auto a = add("a"), b = add("b"), dense = add("dense");
  db.sweeps().begin_plan(sweep);
  for (auto id : {a, b, dense}) {
    db.sweeps().link_run(sweep, id, id, "x");
  }
  // The spec is edited: the dense run is gone from it.
  db.sweeps().begin_plan(sweep);
  db.sweeps().link_run(sweep, a, 0, "x");
  db.sweeps().link_run(sweep, b, 1, "x");
  auto ids = [&](bool all) {
    std::vector<std::int64_t> out;
    for (const auto& r : db.run_summaries(CompiledFilter{}, sweep, all)) {
      out.push_back(r.id);
    }
    return out;
  };
  CHECK(ids(false) == std::vector<std::int64_t>{a, b});
  CHECK(ids(true) == std::vector<std::int64_t>{a, b, dense});
  auto rows = db.sweeps().runs(sweep);
  REQUIRE(rows.size() == 3);
  CHECK(std::count_if(rows.begin(), rows.end(), [](const auto& r) { return !r.planned; }) == 1);
}

TEST_CASE("store: only failed and timed-out attempts spend the retry budget") {
  ResultStore db(":memory:");
  const auto run = db.runs().create(test::sample_run());
  for (auto outcome : {AttemptOutcome::interrupted, AttemptOutcome::failed, AttemptOutcome::interrupted,
                       AttemptOutcome::timeout, AttemptOutcome::finished}) {
    db.sweeps().record_attempt({.run_id = run, .started_at = "t", .slot = "cpu0", .outcome = outcome});
  }
  CHECK(db.sweeps().attempt_count(run) == 5);
  CHECK(db.sweeps().spent_attempts(run) == 2);
}

TEST_CASE("store: migration 7 resumes runs that schema 6 failed for their sweep's death, and only those") {
  test::TempDir dir;
  const auto path = (dir / "moexp.db").string();
  const std::string crashed = "crashed: the sweep that started it was killed and the run did not end";
  std::int64_t orphaned = 0, genuine = 0;
  {
    ResultStore db(path);
    orphaned = db.runs().create(test::sample_run());
    auto other = test::sample_run();
    other.config_hash = "fedcba9876543210";
    genuine = db.runs().create(other);
    db.runs().finish(orphaned, RunStatus::failed, crashed);
    db.runs().finish(genuine, RunStatus::failed, "out of memory");
    for (auto id : {orphaned, genuine}) {
      for (int i = 0; i < 2; ++i) {
        db.sweeps().record_attempt(
            {.run_id = id, .started_at = "t", .slot = "reconciled", .outcome = AttemptOutcome::failed});
      }
    }
  }
  {
    Database raw(path);
    raw.exec("DROP TABLE journal_ingest; DROP TABLE group_nulls; PRAGMA user_version = 6");  // as schema 6 left it
  }
  ResultStore db(path);
  CHECK(db.runs().find(orphaned)->status == RunStatus::interrupted);
  CHECK(db.runs().find(orphaned)->error.find("resumed by the next sweep") != std::string::npos);
  CHECK(db.sweeps().spent_attempts(orphaned) == 0);
  CHECK(db.sweeps().attempt_count(orphaned) == 2);
  CHECK(db.runs().find(genuine)->status == RunStatus::failed);
  CHECK(db.runs().find(genuine)->error == "out of memory");
  CHECK(db.sweeps().spent_attempts(genuine) == 2);
}
