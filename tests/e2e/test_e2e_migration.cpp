// The schema migration against a database written by the schema-4 release (tests/data/schema4): after migrating,
// `runs`, `report` (every format) and `sweep status` print byte for byte what that release printed, every stored
// epoch and evaluation number and every class / superclass routing figure survives, and the migrated schema equals
// a fresh database's.
#include "e2e/process.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <tuple>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(MOEXP_SOURCE_DIR) / "tests/data/schema4";

// A private copy of the fixture database (tests never write the committed file).
fs::path copy_fixture(const TempDir& dir) {
  const auto db = dir / "results/moexp.db";
  fs::create_directories(db.parent_path());
  fs::copy_file(kFixture / "moexp-v4.db", db);
  return db;
}

int user_version(store::Database& db) {
  store::Statement q(db, "PRAGMA user_version");
  q.step();
  return static_cast<int>(q.column_int(0));
}

// Every table and index as SQLite stores its definition, by name.
std::map<std::string, std::string> schema_of(const std::string& path) {
  store::Database db(path, store::OpenMode::read_only);
  store::Statement q(db, "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
  std::map<std::string, std::string> schema;
  while (q.step()) {
    schema[q.column_text(0)] = q.column_text(1);
  }
  return schema;
}

}  // namespace

TEST_CASE("e2e migration: a schema-4 database, migrated, prints what schema 4 printed (runs, report, sweep status)") {
  TempDir dir;
  const auto db = copy_fixture(dir);
  {
    store::Database raw(db.string(), store::OpenMode::read_only);
    REQUIRE(user_version(raw) == 4);
  }
  // A reading command refuses the old file and says what upgrades it; it changes nothing.
  auto refused = run({MOEXP_BIN, "runs", "--db", db.string()}, dir.path());
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("older than this moexp's") != std::string::npos);
  store::ResultStore(db.string());  // a writing command's open: migrates
  {
    store::Database raw(db.string(), store::OpenMode::read_only);
    CHECK(user_version(raw) == store::current_schema_version());
  }
  const auto expected = kFixture / "expected";
  // The report's default columns have changed since schema 4 (the superclass MI's permutation null and p replaced
  // its single-shuffle control): the reports ask for schema 4's defaults.
  const std::string schema4_columns =
      "test_acc,best_test_acc,importance_cv,sample_cv,living_experts,superclass_mi,superclass_mi_control,aux_loss,"
      "wall_seconds";
  // The JSON report has since gained a "routing" section and the HTML page new figures (both drawn from the same
  // migrated data): for them the part that schema 4 printed must be unchanged, the table rows.
  auto part_schema4_printed = [](const std::string& file, const std::string& text) {
    if (file == "report.json") {
      return text.substr(0, text.find(']'));
    }
    if (file == "report.html") {
      const auto begin = text.find("<tbody>"), end = text.find("</tbody>");
      return begin == std::string::npos || end == std::string::npos ? text : text.substr(begin, end - begin);
    }
    return text;
  };
  auto check_output = [&](const std::vector<std::string>& args, const std::string& file) {
    std::vector<std::string> argv{MOEXP_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--db", db.string()});
    auto r = run(argv, dir.path());
    INFO(file << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(part_schema4_printed(file, r.out) == part_schema4_printed(file, read_file(expected / file)));
    return r.out;
  };
  check_output({"runs", "--format", "csv"}, "runs.csv");
  for (const char* format : {"text", "markdown", "csv", "latex"}) {
    check_output({"report", "--format", format, "--metrics", schema4_columns}, std::string("report.") + format);
  }
  const auto json = check_output({"report", "--format", "json", "--metrics", schema4_columns}, "report.json");
  CHECK(json.find("\"routing\": [{\"group\"") != std::string::npos);  // routing over seeds, from migrated snapshots
  const auto html = check_output({"report", "--format", "html", "--metrics", schema4_columns}, "report.html");
  CHECK(html.find("Experts of every seed aligned to seed") != std::string::npos);
  CHECK(html.find("final acc (%) per epoch") != std::string::npos);
  check_output({"report", "fixture-local", "--format", "csv", "--metrics", schema4_columns}, "report-sweep.csv");
  check_output({"sweep", "status", "fixture-local"}, "sweep-status.txt");
}

TEST_CASE("e2e migration: every epoch and evaluation number of schema 4 is a named metric after migrating") {
  TempDir dir;
  const auto db = copy_fixture(dir);
  // What schema 4 stored, read with the old column names.
  std::map<std::tuple<std::int64_t, std::int64_t, std::string>, double> old_epochs;
  std::map<std::int64_t, std::pair<double, double>> old_evaluations;  // id -> (loss, accuracy)
  {
    store::Database raw(db.string(), store::OpenMode::read_only);
    store::Statement q(raw,
                       "SELECT run_id, epoch, train_loss, train_acc, test_loss, test_acc, aux_loss, lr, seconds, "
                       "images_per_s FROM epochs");
    const char* keys[] = {"train_loss", "train_acc", "test_loss", "test_acc",
                          "aux_loss",   "lr",        "seconds",   "images_per_s"};
    while (q.step()) {
      for (int i = 0; i < 8; ++i) {
        old_epochs[{q.column_int(0), q.column_int(1), keys[i]}] = q.column_double(2 + i);
      }
    }
    store::Statement ev(raw, "SELECT id, loss, accuracy FROM evaluations");
    while (ev.step()) {
      old_evaluations[ev.column_int(0)] = {ev.column_double(1), ev.column_double(2)};
    }
  }
  REQUIRE(old_epochs.size() > 200);
  REQUIRE(old_evaluations.size() > 5);
  store::ResultStore store(db.string());
  std::size_t seen = 0;
  for (std::int64_t run = 1; run <= 17; ++run) {
    for (const auto& epoch : store.metrics().epochs(run)) {
      for (const auto& m : epoch.metrics) {
        const auto key = metric_key(m.split, m.name);
        INFO("run " << run << " epoch " << epoch.epoch << " " << key);
        auto it = old_epochs.find({run, epoch.epoch, key});
        REQUIRE(it != old_epochs.end());
        CHECK(m.value == it->second);  // the same double, bit for bit
        ++seen;
      }
    }
  }
  CHECK(seen == old_epochs.size());
  std::size_t evaluations = 0;
  for (std::int64_t run = 1; run <= 17; ++run) {
    for (const auto& ev : store.metrics().evaluations(run)) {
      INFO("evaluation " << ev.id);
      REQUIRE(old_evaluations.count(ev.id));
      CHECK(ev.metrics.size() == 2);
      CHECK(ev.metrics.at("loss") == old_evaluations.at(ev.id).first);
      CHECK(ev.metrics.at("acc") == old_evaluations.at(ev.id).second);
      ++evaluations;
    }
  }
  CHECK(evaluations == old_evaluations.size());
  const auto keys = store.metrics().keys();
  CHECK(keys == std::vector<std::string>{"aux_loss", "images_per_s", "lr", "seconds", "test_acc", "test_loss",
                                         "train_acc", "train_loss"});
  CHECK(store.integrity_problems().empty());
}

TEST_CASE(
    "e2e migration: every class and superclass matrix and MI of schema 4 is a group of its layer after migrating") {
  TempDir dir;
  const auto db = copy_fixture(dir);
  // (snapshot, layer, kind, group, expert) -> mean weight; (snapshot, layer, kind) -> (MI, control).
  std::map<std::tuple<std::int64_t, std::int64_t, std::string, std::int64_t, std::int64_t>, double> old_weights;
  std::map<std::tuple<std::int64_t, std::int64_t, std::string>, std::pair<double, double>> old_mi;
  {
    store::Database raw(db.string(), store::OpenMode::read_only);
    for (const char* kind : {"class", "superclass"}) {
      store::Statement m(raw, fmt::format("SELECT snapshot_id, layer, {0}, expert, mean_weight FROM {0}_expert", kind));
      while (m.step()) {
        old_weights[{m.column_int(0), m.column_int(1), kind, m.column_int(2), m.column_int(3)}] = m.column_double(4);
      }
      store::Statement l(raw, fmt::format("SELECT snapshot_id, layer, {0}_mi, {0}_mi_control FROM layer_stats", kind));
      while (l.step()) {
        old_mi[{l.column_int(0), l.column_int(1), kind}] = {l.column_double(2), l.column_double(3)};
      }
    }
  }
  REQUIRE(old_weights.size() > 1000);
  REQUIRE(old_mi.size() > 100);
  store::ResultStore store(db.string());
  std::size_t weights = 0, groups = 0;
  for (std::int64_t run = 1; run <= 17; ++run) {
    for (const auto& snap : store.routing().snapshots(run)) {
      for (const auto& layer : store.routing().snapshot(snap.id)) {
        REQUIRE(layer.groups.size() == 2);
        CHECK(layer.groups[0].kind == "class");
        CHECK(layer.groups[1].kind == "superclass");
        for (const auto& g : layer.groups) {
          INFO("snapshot " << snap.id << " layer " << layer.layer << " " << g.kind);
          const auto mi = old_mi.find({snap.id, layer.layer, g.kind});
          REQUIRE(mi != old_mi.end());
          CHECK(g.mi == mi->second.first);  // bit for bit
          CHECK(g.mi_control == mi->second.second);
          ++groups;
          for (std::size_t r = 0; r < g.group_expert.size(); ++r) {
            for (std::size_t e = 0; e < g.group_expert[r].size(); ++e) {
              const auto w = old_weights.find(
                  {snap.id, layer.layer, g.kind, static_cast<std::int64_t>(r), static_cast<std::int64_t>(e)});
              REQUIRE(w != old_weights.end());
              CHECK(g.group_expert[r][e] == w->second);
              ++weights;
            }
          }
        }
      }
    }
  }
  CHECK(weights == old_weights.size());
  CHECK(groups == old_mi.size());
}

TEST_CASE("e2e migration: a migrated database and a fresh one have the same schema") {
  TempDir dir;
  const auto migrated = copy_fixture(dir);
  store::ResultStore(migrated.string());
  const auto fresh = dir / "fresh.db";
  store::ResultStore(fresh.string());
  const auto a = schema_of(migrated.string());
  const auto b = schema_of(fresh.string());
  CHECK(a.size() == b.size());
  for (const auto& [name, sql] : b) {
    INFO(name);
    REQUIRE(a.count(name));
    CHECK(a.at(name) == sql);
  }
  CHECK(a.count("epochs") == 0);
  CHECK(b.count("epoch_metrics") == 1);
}
