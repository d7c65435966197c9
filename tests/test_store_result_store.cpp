#include "core/error.hpp"
#include "core/host.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "store/run_filter.hpp"
#include "store/sqlite.hpp"
#include "store/store_sink.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;

namespace {

NewRun sample_run() {
  return {"r", "[model]\narch = \"resnet8\"\n", "0123456789abcdef", {{"model.arch", "\"resnet8\""}}, "cpu", "host",
          42,  {{"a", 0, "A"}, {"b", 1, "B"}}};
}

EpochRecord sample_epoch(int epoch) {
  EpochRecord r;
  r.epoch = epoch;
  r.set("train", "loss", 1.5);
  r.set("train", "acc", 0.4);
  r.set("test", "loss", 1.4);
  r.set("test", "acc", 0.45);
  r.set("", "aux_loss", 0.01);
  r.set("", "lr", 1e-3);
  r.set("", "seconds", 2.0);
  r.set("", "images_per_s", 1000);
  LayerRouting layer;
  layer.layer = 0;
  layer.position = 1;
  layer.samples = 100;
  layer.importance_share = {0.4, 0.3, 0.2, 0.1};
  layer.sample_share = {0.8, 0.6, 0.4, 0.2};
  summarize_routing(layer);
  r.train_routing = {layer};
  r.test_routing = {layer};
  return r;
}

// `sql` stepped to its first row (a one-row query: a PRAGMA, a count).
std::unique_ptr<Statement> single_value(Database& db, const std::string& sql) {
  auto q = std::make_unique<Statement>(db, sql);
  REQUIRE(q->step());
  return q;
}

// The routing read back from run `id`'s only epoch snapshot of `split`.
std::vector<LayerRouting> stored_routing(ResultStore& db, std::int64_t id, const std::string& split) {
  auto snaps = db.routing().snapshots(id);
  REQUIRE(snaps.size() == 2);
  return db.routing().snapshot(snaps[0].split == split ? snaps[0].id : snaps[1].id);
}

}  // namespace

TEST_CASE("store: a run round-trips with its params") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  CHECK(id == 1);
  auto row = db.runs().find(id);
  REQUIRE(row);
  CHECK(row->name == "r");
  CHECK(row->status == RunStatus::running);
  CHECK(row->config_hash == "0123456789abcdef");
  CHECK(row->pid == std::optional<std::int64_t>(42));
  CHECK(row->moexp_version == MOEXP_VERSION);
  CHECK_FALSE(row->started_at.empty());
  CHECK(db.runs().params(id) == std::vector<std::pair<std::string, std::string>>{{"model.arch", "\"resnet8\""}});
  CHECK_FALSE(db.runs().find(99));
}

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

TEST_CASE("store: an epoch's named metrics come back by key, a new name needs no schema change") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto epoch = sample_epoch(1);
  epoch.set("test", "top5_acc", 0.75);
  epoch.set("test", "AP50", 0.25);  // a task's own figure
  db.record_epoch(id, epoch);
  auto epochs = db.metrics().epochs(id);
  REQUIRE(epochs.size() == 1);
  CHECK(epochs[0].metrics.size() == 10);
  CHECK(epochs[0].at("test_top5_acc") == 0.75);
  CHECK(epochs[0].at("test_AP50") == 0.25);
  CHECK(epochs[0].at("lr") == 1e-3);
  CHECK_FALSE(epochs[0].find("train_top5_acc").has_value());
  CHECK_THROWS_AS(epochs[0].at("train_top5_acc"), std::out_of_range);
  const auto keys = db.metrics().keys();
  CHECK(keys == std::vector<std::string>{"aux_loss", "images_per_s", "lr", "seconds", "test_AP50", "test_acc",
                                         "test_loss", "test_top5_acc", "train_acc", "train_loss"});
  // Recording the epoch again replaces its rows (a metric it no longer has is gone).
  auto again = sample_epoch(1);
  db.record_epoch(id, again);
  CHECK(db.metrics().epochs(id)[0].metrics.size() == 8);
}

TEST_CASE("store: last_metric is a metric's latest value with its epoch") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  CHECK_FALSE(db.metrics().last(id, "test_acc").has_value());
  for (int e = 1; e <= 3; ++e) {
    auto epoch = sample_epoch(e);
    epoch.set("test", "acc", 0.1 * e);
    db.record_epoch(id, epoch);
  }
  const auto last = db.metrics().last(id, "test_acc");
  REQUIRE(last.has_value());
  CHECK(last->first == 3);
  CHECK(last->second == doctest::Approx(0.3));
  CHECK(db.metrics().last(id, "lr").has_value());
  CHECK_FALSE(db.metrics().last(id, "test_AP").has_value());
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

TEST_CASE("store: a sweep's child resumes its run only while that sweep's claim stands") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  for (int e = 1; e <= 3; ++e) {
    db.record_epoch(id, sample_epoch(e));
  }
  db.runs().finish(id, RunStatus::interrupted, "stopped");
  const auto host = core::host_name();
  const auto before = db.runs().find(id);
  REQUIRE(db.runs().claim(id, before->status, before->pid, before->claim_pid));  // claimed by this process
  const auto me = static_cast<std::int64_t>(::getpid());
  CHECK_FALSE(db.resume_run(id, 1, "cpu", host, 7, me + 1));  // another sweep's child: nothing changes
  CHECK(db.metrics().epochs(id).size() == 3);
  CHECK(db.runs().find(id)->pid != 7);
  CHECK(db.resume_run(id, 2, "cpu", host, 7, me));  // its own sweep's child
  CHECK(db.runs().find(id)->pid == 7);
  CHECK(db.metrics().epochs(id).size() == 2);
  db.runs().release_claim(id);  // settled by a later sweep: the child of the dead sweep leaves the run alone
  CHECK_FALSE(db.resume_run(id, 2, "cpu", host, 8, me));
  CHECK(db.runs().find(id)->pid == 7);
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

TEST_CASE("store: a database from a newer moexp is refused") {
  test::TempDir dir;
  const auto path = (dir / "new.db").string();
  {
    Database raw(path);
    raw.exec("PRAGMA user_version = 999");
  }
  CHECK_THROWS_AS(ResultStore{path}, StoreError);
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

TEST_CASE("store: a routing snapshot round-trips group x expert matrices, co-activation and specialisation") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  auto& l = rec.test_routing[0];
  l.groups.push_back({kClassGroup, {{0.5, 0.25, 0.25, 0.0}, {0.1, 0.2, 0.3, 0.4}}, {3, 5}, 0.4, 0.01});
  l.groups.push_back({kSuperclassGroup, {{0.3, 0.2, 0.3, 0.2}}, {8}, 0.3, 0.02});
  l.coactivation.assign(16, 0);
  l.coactivation[0 * 4 + 3] = 7;
  l.sample_entropy = 0.6;
  db.record_epoch(id, rec);
  auto back = stored_routing(db, id, "test");
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].groups.size() == 2);
  for (std::size_t g = 0; g < 2; ++g) {
    CHECK(back[0].groups[g].kind == l.groups[g].kind);
    CHECK(back[0].groups[g].group_expert == l.groups[g].group_expert);
    CHECK(back[0].groups[g].mi == l.groups[g].mi);
    CHECK(back[0].groups[g].mi_control == l.groups[g].mi_control);
    CHECK(back[0].groups[g].group_samples.empty());  // the split's label counts are not stored per snapshot
  }
  CHECK(back[0].coactivation == l.coactivation);
  CHECK(back[0].sample_entropy == doctest::Approx(0.6));
  CHECK(back[0].importance_share == l.importance_share);
  CHECK(db.runs().classes(id).size() == 2);
  CHECK(db.runs().classes(id)[1].superclass_name == "B");
}

TEST_CASE("store: a new group kind is stored and read back with no change to the store") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  for (auto* layers : {&rec.train_routing, &rec.test_routing}) {
    auto& l = layers->at(0);
    l.groups.push_back({kClassGroup, {{0.5, 0.5, 0.0, 0.0}}, {}, 0.1, 0.0});
    l.groups.push_back({"size", {{1.0, 0.0, 0.0, 0.0}, {0.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 0.5, 0.5}}, {}, 0.9, 0.05});
    l.groups.push_back({kSuperclassGroup, {{0.25, 0.25, 0.25, 0.25}}, {}, 0.2, 0.0});
  }
  db.record_epoch(id, rec);
  for (const char* split : {"train", "test"}) {
    auto back = stored_routing(db, id, split);
    REQUIRE(back.size() == 1);
    const auto& layer = back[0];
    // Kinds come back in registration order: class and superclass are built in, "size" was added after them.
    REQUIRE(layer.groups.size() == 3);
    CHECK(layer.groups[0].kind == "class");
    CHECK(layer.groups[1].kind == "superclass");
    CHECK(layer.groups[2].kind == "size");
    REQUIRE(layer.group("size") != nullptr);
    CHECK(layer.group("size")->group_expert[2][3] == 0.5);
    CHECK(layer.group("size")->mi == 0.9);
    CHECK(layer.group("level") == nullptr);
  }
}

TEST_CASE("store: a CIFAR-100-sized snapshot (100 classes x 16 experts, several chunks) round-trips") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  auto rec = sample_epoch(1);
  auto& l = rec.train_routing[0];
  l.importance_share.assign(16, 1.0 / 16);
  l.sample_share.assign(16, 2.0 / 16);
  auto& classes = l.group_or_add(kClassGroup).group_expert;
  classes.assign(100, std::vector<double>(16));
  for (std::size_t c = 0; c < 100; ++c) {
    for (std::size_t e = 0; e < 16; ++e) {
      classes[c][e] = static_cast<double>(c * 16 + e) / 1600.0;
    }
  }
  l.group_or_add(kSuperclassGroup).group_expert.assign(20, std::vector<double>(16, 0.0625));
  l.coactivation.assign(16 * 16, 0);
  for (std::int64_t a = 0; a < 16; ++a) {
    for (std::int64_t b = a + 1; b < 16; ++b) {
      l.coactivation[static_cast<std::size_t>(a * 16 + b)] = a * 100 + b;
    }
  }
  db.record_epoch(id, rec);
  auto back = stored_routing(db, id, "train");
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].group(kClassGroup) != nullptr);
  REQUIRE(back[0].group(kSuperclassGroup) != nullptr);
  CHECK(back[0].group(kClassGroup)->group_expert == l.group(kClassGroup)->group_expert);
  CHECK(back[0].group(kSuperclassGroup)->group_expert == l.group(kSuperclassGroup)->group_expert);
  CHECK(back[0].coactivation == l.coactivation);
  CHECK(back[0].sample_share == l.sample_share);
}

TEST_CASE("store: evaluations are stored per setting with their routing, and survive resume") {
  ResultStore db(":memory:");
  auto id = db.runs().create(sample_run());
  db.record_epoch(id, sample_epoch(1));
  NewEvaluation ev;
  ev.run_id = id;
  ev.checkpoint = "runs/1/checkpoint.pt";
  ev.checkpoint_epoch = 1;
  ev.split = "test";
  ev.setting = "k=1";
  ev.k = 1;
  ev.samples = 100;
  ev.metrics = {{"acc", 0.8}, {"loss", 0.4}};
  ev.class_samples = {50, 50};
  ev.class_correct = {40, 40};
  ev.routing = sample_epoch(1).test_routing;
  auto eid = db.record_evaluation(ev);
  auto evals = db.metrics().evaluations(id);
  REQUIRE(evals.size() == 1);
  CHECK(evals[0].id == eid);
  CHECK(evals[0].setting == "k=1");
  CHECK(evals[0].metrics.at("acc") == doctest::Approx(0.8));
  db.resume_run(id, 0, "cpu", "h", 1);  // drops training snapshots after epoch 0, keeps the evaluation
  auto snaps = db.routing().snapshots(id);
  REQUIRE(snaps.size() == 1);
  CHECK(snaps[0].evaluation_id == std::optional<std::int64_t>(eid));
}

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

TEST_CASE("store: Statement::read fills a row's fields by their types; NULL reads as 0, \"\" or nullopt") {
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
