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
