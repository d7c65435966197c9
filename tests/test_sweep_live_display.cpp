#include "store/result_store.hpp"
#include "sweep/local/live_display.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using namespace moexp;
using namespace moexp::sweep;

namespace {

std::string drawn(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) {
    text.append(buf, n);
  }
  return text;
}

}  // namespace

TEST_CASE("live display: a running slot shows its run's last epoch and test accuracy, the bar counts outcomes") {
  store::ResultStore db(":memory:");
  const auto run = db.runs().create({"r", "", "hash", {}, "cpu", "host", 0, {}});
  for (int e = 1; e <= 2; ++e) {
    EpochRecord rec;
    rec.epoch = e;
    rec.set("test", "acc", 0.25 * e);
    rec.set("", kSecondsMetric, 1);
    db.record_epoch(run, rec);
  }
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  LiveDisplay display(out, db.metrics(), make_slots(2, {}, 1), 3);
  display.on_event(
      {ExecutorEvent::Kind::started, run, "constraint.kind=kl", "cpu0", AttemptOutcome::finished, 0, false});
  display.on_event({ExecutorEvent::Kind::ended, 99, "other", "cpu1", AttemptOutcome::timeout, 5, false});
  display.tick(true);
  const auto text = drawn(out);
  std::fclose(out);
  CHECK(text.find("run 1     epoch 2 test acc 50.00%") != std::string::npos);
  CHECK(text.find("cpu1     idle") != std::string::npos);
  CHECK(text.find("1/3  finished 0  failed 1  other 0  running 1  pending 1") != std::string::npos);
}
