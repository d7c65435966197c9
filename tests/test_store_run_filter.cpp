#include "core/error.hpp"
#include "store/result_store.hpp"
#include "store/run_filter.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>

using namespace moexp;
using namespace moexp::store;

namespace {

// Three runs: relative/4 finished, kl/10 finished, relative/10 failed.
ResultStore fixture() {
  ResultStore db(":memory:");
  auto add = [&](const std::string& kind, int experts, RunStatus status) {
    NewRun run{
        kind,
        "",
        kind + std::to_string(experts),
        {{"constraint.kind", "'" + kind + "'"}, {"moe.num_experts", std::to_string(experts)}, {"moe.enabled", "true"}},
        "cpu",
        "h",
        1,
        {}};
    auto id = db.runs().create(run);
    db.runs().finish(id, status);
  };
  add("relative", 4, RunStatus::finished);
  add("kl", 10, RunStatus::finished);
  add("relative", 10, RunStatus::failed);
  return db;
}

std::vector<std::int64_t> ids(ResultStore& db, const std::string& filter) {
  std::vector<std::int64_t> out;
  for (const auto& r : db.run_summaries(compile_filter(filter, db.metrics().keys()), std::nullopt)) {
    out.push_back(r.id);
  }
  return out;
}

std::string error_of(const std::string& filter) {
  try {
    compile_filter(filter, {"test_acc"});
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("run filter: comparisons, IN, AND / OR / NOT and parentheses") {
  auto db = fixture();
  CHECK(ids(db, "") == std::vector<std::int64_t>{1, 2, 3});
  CHECK(ids(db, "constraint.kind = 'relative'") == std::vector<std::int64_t>{1, 3});
  CHECK(ids(db, "constraint.kind != \"relative\"") == std::vector<std::int64_t>{2});
  CHECK(ids(db, "moe.num_experts >= 10") == std::vector<std::int64_t>{2, 3});
  CHECK(ids(db, "moe.num_experts in (4, 10) and status = 'finished'") == std::vector<std::int64_t>{1, 2});
  CHECK(ids(db, "constraint.kind = 'relative' and moe.num_experts = 4 or status != 'finished'") ==
        std::vector<std::int64_t>{1, 3});
  CHECK(ids(db, "constraint.kind = 'relative' and (moe.num_experts = 4 or status = 'finished')") ==
        std::vector<std::int64_t>{1});
  CHECK(ids(db, "NOT (status = 'failed')") == std::vector<std::int64_t>{1, 2});
  CHECK(ids(db, "id > 1 and moe.enabled = true") == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("run filter: user text is only ever a bound parameter") {
  auto compiled = compile_filter("name = 'x; DROP TABLE runs; --' or constraint.kind = '\" OR 1=1 --'", {});
  CHECK(compiled.sql.find("DROP") == std::string::npos);
  CHECK(compiled.sql.find("1=1") == std::string::npos);
  auto db = fixture();
  CHECK(ids(db, "name = 'x; DROP TABLE runs; --'").empty());
  CHECK(ids(db, "name = 'relative'") == std::vector<std::int64_t>{1, 3});  // the table is still there
}

TEST_CASE("run filter: errors point at the offending column") {
  CHECK(error_of("moe.num_expert = 4") ==
        "where: unknown key 'moe.num_expert' (did you mean 'moe.num_experts'?) at column 1: moe.num_expert = 4");
  CHECK(error_of("status = ").find("expected a value at column 10") != std::string::npos);
  CHECK(error_of("status 'x'").find("expected an operator, got 'x' at column 8") != std::string::npos);
  CHECK(error_of("(status = 'x'").find("expected ')' at column 14") != std::string::npos);
  CHECK(error_of("status = 'x").find("unterminated string at column 10") != std::string::npos);
  CHECK(error_of("status = 'x'; DELETE").find("unexpected ';' at column 13") != std::string::npos);
  CHECK(error_of("moe.k in (1 2)").find("expected ',' or ')'") != std::string::npos);
}

TEST_CASE("run filter: nesting is bounded with a clear error instead of a crash") {
  const std::string deep = std::string(25000, '(') + "id = 1" + std::string(25000, ')');
  auto msg = error_of(deep);
  CHECK(msg.find("where: nested deeper than 32 levels of parentheses and 'not' at column 33: ") == 0);
  CHECK(msg.size() < 200);  // the 50,000-character filter is shown as an excerpt
  std::string nots;
  for (int i = 0; i < 40; ++i) {
    nots += "not ";
  }
  CHECK(error_of(nots + "id = 1").find("nested deeper than 32 levels") != std::string::npos);
  // 32 levels are fine, and SQLite accepts what they compile to.
  auto db = fixture();
  CHECK(ids(db, std::string(32, '(') + "id = 2" + std::string(32, ')')) == std::vector<std::int64_t>{2});
  std::string even_nots;
  for (int i = 0; i < 30; ++i) {
    even_nots += "not ";
  }
  CHECK(ids(db, even_nots + "(moe.num_experts = 4)") == std::vector<std::int64_t>{1});
}

TEST_CASE("run filter: a generated filter with 10,000 terms or list values compiles to SQL that SQLite accepts") {
  auto db = fixture();
  std::string ors, list, kinds;
  for (int i = 10000; i >= 1; --i) {
    ors += fmt::format("{}id = {}", ors.empty() ? "" : " or ", i);
    list += fmt::format("{}{}", list.empty() ? "" : ", ", i * 2 - 1);  // odd ids only
    kinds += fmt::format("{}'kind{}'", kinds.empty() ? "" : ", ", i);
  }
  CHECK(ids(db, ors) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(ids(db, "id in (" + list + ")") == std::vector<std::int64_t>{1, 3});
  CHECK(ids(db, "constraint.kind in (" + kinds + ", 'kl')") == std::vector<std::int64_t>{2});
  CHECK(ids(db, "(" + ors + ") and status = 'finished' and moe.num_experts in (10, 'x')") ==
        std::vector<std::int64_t>{2});
  std::string ands = "id > 0";
  for (int i = 0; i < 5000; ++i) {
    ands += " and status != 'nothing'";
  }
  CHECK(ids(db, ands) == std::vector<std::int64_t>{1, 2, 3});
  // A list mixing numbers, booleans and strings keeps each one's comparison.
  CHECK(ids(db, "moe.enabled in (true) and moe.num_experts in (4, 10) and constraint.kind in ('kl', \"relative\")") ==
        std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("run filter: numbers must be finite") {
  CHECK(error_of("test_acc > 1e999").find("'1e999' is not a number") != std::string::npos);
}

TEST_CASE("run filter: any stored metric by name, at the run's final epoch, an unknown one is refused") {
  auto db = fixture();
  for (std::int64_t id = 1; id <= 3; ++id) {
    for (int epoch = 1; epoch <= 2; ++epoch) {
      EpochRecord r;
      r.epoch = epoch;
      // Final epochs: run 1 0.75, run 2 0.5, run 3 0.25; the first epoch is 0.6 for all.
      r.set("test", "top5_acc", epoch == 1 ? 0.6 : 0.25 * static_cast<double>(4 - id));
      r.set("", "lr", 0.1);
      db.record_epoch(id, r);
    }
  }
  const auto keys = db.metrics().keys();
  CHECK(keys == std::vector<std::string>{"lr", "test_top5_acc"});
  CHECK(ids(db, "test_top5_acc > 0.4") == std::vector<std::int64_t>{1, 2});
  CHECK(ids(db, "test_top5_acc in (0.25, 0.75) and lr = 0.1") == std::vector<std::int64_t>{1, 3});
  CHECK(ids(db, "not (test_top5_acc < 0.4)") == std::vector<std::int64_t>{1, 2});
  auto summaries = db.run_summaries(compile_filter("", keys), std::nullopt);
  REQUIRE(summaries.size() == 3);
  CHECK(summaries[0].metric("test_top5_acc") == 0.75);
  CHECK(summaries[2].metric("test_top5_acc") == 0.25);
  CHECK_FALSE(summaries[0].metric("test_acc").has_value());
  try {
    compile_filter("test_top5_ac > 0.5", keys);
    FAIL("an unknown metric compiled");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("unknown key 'test_top5_ac' (did you mean 'test_top5_acc'?)") !=
          std::string::npos);
  }
}
