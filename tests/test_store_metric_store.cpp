// MetricStore: named epoch metrics and evaluations.
#include "store/result_store.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdint>

using namespace moexp;
using namespace moexp::store;
using moexp::test::sample_epoch;
using moexp::test::sample_run;

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
