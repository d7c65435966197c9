// Shared data and helpers of the store tests (one test file per store: sqlite, run, metric, routing, sweep, result).
#pragma once

#include "core/metrics.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace moexp::test {

// A run row with params and two classes.
inline store::NewRun sample_run() {
  return {.name = "r",
          .config_toml = "[model]\narch = \"resnet8\"\n",
          .config_hash = "0123456789abcdef",
          .params = {{"model.arch", "\"resnet8\""}},
          .device = "cpu",
          .host = "host",
          .pid = 42,
          .classes = {{"a", 0, "A"}, {"b", 1, "B"}}};
}

// Epoch `epoch`'s figures and one MoE layer's routing (the same for both splits).
inline EpochRecord sample_epoch(int epoch) {
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
inline std::unique_ptr<store::Statement> single_value(store::Database& db, const std::string& sql) {
  auto q = std::make_unique<store::Statement>(db, sql);
  REQUIRE(q->step());
  return q;
}

// The routing read back from run `id`'s only epoch snapshot of `split`.
inline std::vector<LayerRouting> stored_routing(store::ResultStore& db, std::int64_t id, const std::string& split) {
  auto snaps = db.routing().snapshots(id);
  REQUIRE(snaps.size() == 2);
  return db.routing().snapshot(snaps[0].split == split ? snaps[0].id : snaps[1].id);
}

}  // namespace moexp::test
