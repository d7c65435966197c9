// The SQLite wrapper (store/sqlite.hpp): prepared statements, RowInserter, transactions, bound parameters, row readers.
#include "core/error.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;
using moexp::test::sample_run;
using moexp::test::single_value;

TEST_CASE("store: a prepared statement is kept per SQL text and comes back reset with its bindings cleared") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (x INTEGER)");
  Statement& first = db.prepared("INSERT INTO t VALUES (?)");
  first.bind(1, 5).run();
  Statement& again = db.prepared("INSERT INTO t VALUES (?)");
  CHECK(&again == &first);
  again.run();  // bindings cleared: inserts NULL
  Statement q(db, "SELECT count(*), count(x), sum(x) FROM t");
  REQUIRE(q.step());
  CHECK(q.column_int(0) == 2);
  CHECK(q.column_int(1) == 1);
  CHECK(q.column_int(2) == 5);
}

TEST_CASE("store: a prepared statement that failed inside a rolled-back transaction is usable again") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)");
  Statement(db, "INSERT INTO t VALUES (1)").run();
  {
    Transaction tx(db);
    CHECK_THROWS_AS(db.prepared("INSERT INTO t VALUES (?)").bind(1, 1).run(), StoreError);
  }
  {
    Transaction tx(db);
    db.prepared("INSERT INTO t VALUES (?)").bind(1, 2).run();
    tx.commit();
  }
  CHECK(single_value(db, "SELECT count(*) FROM t")->column_int(0) == 2);
}

TEST_CASE("store: RowInserter writes rows in multi-row chunks, in order, with every value type") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, n INTEGER)");
  const int rows = 2 * RowInserter::kRowsPerStatement + 22;
  {
    RowInserter insert(db, "INSERT INTO t (i, d, s, n)", 4);
    for (int i = 0; i < rows; ++i) {
      insert.add(i, 0.5 * i, std::string_view(i % 2 ? "odd'; --" : "even"), nullptr);
    }
    insert.flush();
    insert.flush();  // nothing queued: no-op
  }
  Statement q(db, "SELECT i, d, s, n IS NULL FROM t ORDER BY rowid");
  int seen = 0;
  while (q.step()) {
    CHECK(q.column_int(0) == seen);
    CHECK(q.column_double(1) == doctest::Approx(0.5 * seen));
    CHECK(q.column_text(2) == (seen % 2 ? "odd'; --" : "even"));
    CHECK(q.column_int(3) == 1);
    ++seen;
  }
  CHECK(seen == rows);
}

TEST_CASE("store: RowInserter refuses a short row and writes nothing of it") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (a INTEGER, b INTEGER)");
  RowInserter insert(db, "INSERT INTO t (a, b)", 2);
  insert.add(1, 2);
  insert.add(3);
  CHECK_THROWS_AS(insert.flush(), StoreError);
  CHECK(single_value(db, "SELECT count(*) FROM t")->column_int(0) == 0);
}

TEST_CASE("store: a transaction rolls back unless committed") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction tx(db);
    Statement(db, "INSERT INTO t VALUES (1)").run();
  }
  CHECK(single_value(db, "SELECT count(*) FROM t")->column_int(0) == 0);
}

TEST_CASE("store: bound parameters keep quotes and SQL text as data") {
  ResultStore db(":memory:");
  auto run = sample_run();
  run.name = "x'); DROP TABLE runs; --";
  auto id = db.runs().create(run);
  CHECK(db.runs().find(id)->name == run.name);
}

TEST_CASE("store: Statement::read fills a row's fields by their types, NULL reads as 0, \"\" or nullopt") {
  Database db(":memory:");
  Statement q(db, "SELECT 7, 2.5, 'text', NULL, NULL, 3, 1, 'diverged', NULL");
  REQUIRE(q.step());
  std::int64_t i = 0;
  double d = 0;
  std::string s;
  std::optional<std::int64_t> none_int = 5;
  std::optional<double> none_double = 5.0;
  std::optional<std::int64_t> some_int;
  bool flag = false;
  RunStatus status = RunStatus::pending;
  std::string empty = "x";
  q.read(i, d, s, none_int, none_double, some_int, flag, status, empty);
  CHECK(i == 7);
  CHECK(d == 2.5);
  CHECK(s == "text");
  CHECK_FALSE(none_int.has_value());
  CHECK_FALSE(none_double.has_value());
  CHECK(some_int == 3);
  CHECK(flag);
  CHECK(status == RunStatus::diverged);
  CHECK(empty.empty());
  Statement bad(db, "SELECT 'exploded'");
  REQUIRE(bad.step());
  CHECK_THROWS_AS(bad.read(status), StoreError);
}

TEST_CASE("store: a transaction inside another is a savepoint: its rollback keeps the outer one's rows") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction outer(db);
    CHECK_FALSE(outer.nested());
    db.exec("INSERT INTO t VALUES (1)");
    {
      Transaction inner(db);
      CHECK(inner.nested());
      db.exec("INSERT INTO t VALUES (2)");
    }  // rolled back
    {
      Transaction inner(db);
      db.exec("INSERT INTO t VALUES (3)");
      inner.commit();
    }
    outer.commit();
  }
  CHECK(test::single_value(db, "SELECT group_concat(x) FROM t")->column_text(0) == "1,3");
  {
    Transaction outer(db);
    Transaction inner(db);
    db.exec("INSERT INTO t VALUES (4)");
    inner.commit();
  }  // the outer rollback takes the committed savepoint with it
  CHECK(test::single_value(db, "SELECT count(*) FROM t")->column_int(0) == 2);
}
