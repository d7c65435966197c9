#include "core/error.hpp"
#include "store/result_store.hpp"
#include "store/run_filter.hpp"

#include <doctest/doctest.h>

using namespace moexp;
using namespace moexp::store;

namespace {

// Three runs: relative/4 finished, kl/10 finished, relative/10 failed.
ResultStore fixture() {
  ResultStore db(":memory:");
  auto add = [&](const std::string& kind, int experts, const char* status) {
    NewRun run{kind, "", kind + std::to_string(experts),
               {{"constraint.kind", "'" + kind + "'"}, {"moe.num_experts", std::to_string(experts)},
                {"moe.enabled", "true"}},
               "cpu", "h", 1, {}};
    auto id = db.create_run(run);
    db.finish_run(id, status);
  };
  add("relative", 4, "finished");
  add("kl", 10, "finished");
  add("relative", 10, "failed");
  return db;
}

std::vector<std::int64_t> ids(ResultStore& db, const std::string& filter) {
  std::vector<std::int64_t> out;
  for (const auto& r : db.run_summaries(compile_filter(filter), std::nullopt)) {
    out.push_back(r.id);
  }
  return out;
}

std::string error_of(const std::string& filter) {
  try {
    compile_filter(filter);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

} // namespace

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
  auto compiled = compile_filter("name = 'x; DROP TABLE runs; --' or constraint.kind = '\" OR 1=1 --'");
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
