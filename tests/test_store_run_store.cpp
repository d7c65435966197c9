// RunStore: run rows with their params, claims.
#include "core/host.hpp"
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
