// run_journal: journal entries round-trip bit-exactly, malformed payloads are refused, and the sink writes whole
// synced entries.
#include "core/error.hpp"
#include "journal/run_journal.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace moexp;
using namespace moexp::journal;

namespace {

// An epoch with every routing field set, detection-style groups and awkward doubles.
EpochRecord rich_epoch() {
  auto e = test::sample_epoch(3);
  e.set("test", "ap", 0.1 + 0.2);  // not a short decimal
  e.set("", "tiny", std::numeric_limits<double>::denorm_min());
  e.set("", "nan", std::numeric_limits<double>::quiet_NaN());
  auto& g = e.test_routing[0].group_or_add(kSizeGroup);
  g.group_expert = {{0.25, 0.25, 0.25, 0.25}, {1.0 / 3, 1.0 / 3, 1.0 / 6, 1.0 / 6}};
  g.group_samples = {7, 9};
  g.mi = 0.123456789012345678;
  g.mi_control = -0.0;
  g.null_design = kNullUnitsShuffled;
  g.mi_null = {0.123456789012345678, 0.01, 0.002, 1.0 / 201, 200, 20261207};
  g.given = {{kLevelGroup, {0.05, 0.04, 0.003, 0.3, 200, 20261207}},
             {"level_and_class", {0.02, 0.01, 0.004, 0.6, 200, 20261207}}};
  e.test_routing[0].coactivation = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  e.test_routing[0].collapsed = true;
  return e;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("run_journal: every entry kind round-trips, doubles bit for bit") {
  const JournalStart start{.uid = "3f2a",
                           .run_id = 12,
                           .keep_epochs = 2,
                           .device = "cuda:0",
                           .host = "n2",
                           .pid = 77,
                           .classes = {{"cat", 0, "animal"}, {"car", 1, "vehicle"}}};
  const auto s = std::get<JournalStart>(decode_entry(encode_entry(start)));
  CHECK(s.uid == "3f2a");
  CHECK(s.run_id == 12);
  CHECK(s.keep_epochs == 2);
  CHECK(s.device == "cuda:0");
  CHECK(s.host == "n2");
  CHECK(s.pid == 77);
  REQUIRE(s.classes.size() == 2);
  CHECK(s.classes[1].name == "car");
  CHECK(s.classes[1].superclass == 1);
  CHECK(s.classes[1].superclass_name == "vehicle");

  const auto epoch = rich_epoch();
  const auto e = std::get<EpochRecord>(decode_entry(encode_entry(epoch)));
  CHECK(e.epoch == 3);
  REQUIRE(e.metrics.size() == epoch.metrics.size());
  for (std::size_t i = 0; i < e.metrics.size(); ++i) {
    CHECK(e.metrics[i].split == epoch.metrics[i].split);
    CHECK(e.metrics[i].name == epoch.metrics[i].name);
    CHECK(same_bits(e.metrics[i].value, epoch.metrics[i].value));
  }
  REQUIRE(e.test_routing.size() == 1);
  const auto& l = e.test_routing[0];
  const auto& want = epoch.test_routing[0];
  CHECK(l.importance_share == want.importance_share);
  CHECK(l.sample_share == want.sample_share);
  CHECK(l.samples == want.samples);
  CHECK(l.position == want.position);
  CHECK(l.living_experts == want.living_experts);
  CHECK(same_bits(l.importance_cv, want.importance_cv));
  CHECK(l.coactivation == want.coactivation);
  CHECK(l.collapsed);
  REQUIRE(l.group(kSizeGroup) != nullptr);
  CHECK(l.group(kSizeGroup)->group_expert == want.group(kSizeGroup)->group_expert);
  CHECK(l.group(kSizeGroup)->group_samples == std::vector<std::int64_t>{7, 9});
  CHECK(same_bits(l.group(kSizeGroup)->mi, 0.123456789012345678));
  CHECK(same_bits(l.group(kSizeGroup)->mi_control, -0.0));
  const auto& nulls = *l.group(kSizeGroup);
  CHECK(nulls.null_design == kNullUnitsShuffled);
  CHECK(same_bits(nulls.mi_null.p_value, 1.0 / 201));
  CHECK(nulls.mi_null.permutations == 200);
  CHECK(nulls.mi_null.seed == 20261207);
  REQUIRE(nulls.given.size() == 2);
  CHECK(nulls.given[0].given == kLevelGroup);
  CHECK(same_bits(nulls.given[0].mi.null_sd, 0.003));
  CHECK(nulls.given[1].given == "level_and_class");
  CHECK(same_bits(nulls.given[1].mi.p_value, 0.6));
  CHECK(e.train_routing.size() == epoch.train_routing.size());

  const auto end = std::get<JournalEnd>(decode_entry(encode_entry(JournalEnd{RunStatus::diverged, "loss is NaN"})));
  CHECK(end.status == RunStatus::diverged);
  CHECK(end.error == "loss is NaN");
}

TEST_CASE("run_journal: malformed payloads are refused with a journal entry error, never read past their end") {
  const auto payload = encode_entry(rich_epoch());
  for (std::size_t cut = 0; cut < payload.size(); cut += 7) {  // every truncation fails cleanly
    CAPTURE(cut);
    CHECK_THROWS_AS(decode_entry(std::string_view(payload).substr(0, cut)), InputError);
  }
  CHECK_THROWS_WITH_AS(decode_entry(payload + "x"), doctest::Contains("1 bytes after its last field"), InputError);
  CHECK_THROWS_WITH_AS(decode_entry("\x09"), doctest::Contains("unknown kind 9"), InputError);
  auto huge = encode_entry(JournalStart{});
  huge[1] = static_cast<char>(0xFF);  // the uid's length: far more than the payload holds
  CHECK_THROWS_WITH_AS(decode_entry(huge), doctest::Contains("does not fit"), InputError);
  CHECK_THROWS_WITH_AS(decode_entry(encode_entry(JournalEnd{RunStatus::running, ""})),
                       doctest::Contains("'running' is not a status a run ends with"), InputError);
}

TEST_CASE("run_journal: the sink writes a start, each epoch and the end as synced records of the run folder") {
  test::TempDir dir;
  const auto path = journal_path(dir / "runs/4");
  CHECK(path == dir / "runs/4/journal.bin");
  {
    JournalSink sink(path);
    sink.start({.uid = "u", .run_id = 4, .keep_epochs = 0, .device = "cpu", .host = "h", .pid = 1});
    sink.record_epoch(test::sample_epoch(1));
    sink.record_epoch(test::sample_epoch(2));
    sink.end(RunStatus::finished, "");
  }
  const auto read = read_records(path);
  REQUIRE(read.records.size() == 4);
  CHECK(std::holds_alternative<JournalStart>(decode_entry(read.records[0])));
  CHECK(std::get<EpochRecord>(decode_entry(read.records[2])).epoch == 2);
  CHECK(std::get<JournalEnd>(decode_entry(read.records[3])).status == RunStatus::finished);
}

TEST_CASE("run_journal: an epoch written before the nulls existed (kind 2) still reads, without nulls") {
  // The old layout is the new one without a group's design, null and count of conditional figures (8 + 48 + 8
  // bytes after mi_control; none here), under kind byte 2.
  EpochRecord epoch = test::sample_epoch(2);
  auto& g = epoch.test_routing[0].group_or_add(kSizeGroup);
  g.group_expert = {{0.5, 0.5}};
  g.group_samples = {3};
  g.mi = 0.25;
  g.mi_control = 0.0625;
  auto payload = encode_entry(epoch);
  const double marker = g.mi_control;
  std::string marker_bytes(sizeof marker, '\0');
  std::memcpy(marker_bytes.data(), &marker, sizeof marker);
  const auto at = payload.rfind(marker_bytes);
  REQUIRE(at != std::string::npos);
  payload.erase(at + sizeof marker, 8 + 48 + 8);
  payload[0] = 2;
  const auto e = std::get<EpochRecord>(decode_entry(payload));
  REQUIRE(e.test_routing.size() == 1);
  const auto* size = e.test_routing[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  CHECK(size->mi == 0.25);
  CHECK(size->mi_control == 0.0625);
  CHECK(size->mi_null.permutations == 0);
  CHECK(size->given.empty());
}

TEST_CASE("run_journal: an epoch with one figure given the level (kind 4) still reads") {
  // Kind 4 wrote one given kind and its null where kind 5 writes their count and the list: with the level alone the
  // old layout is the new one without the count's 8 bytes, under kind byte 4.
  EpochRecord epoch = test::sample_epoch(2);
  auto& g = epoch.test_routing[0].group_or_add(kSizeGroup);
  g.group_expert = {{0.5, 0.5}};
  g.group_samples = {3};
  g.null_design = kNullUnitsShuffled;
  g.mi_null = {0.3, 0.01, 0.002, 1.0 / 201, 200, 20261207};
  g.given = {{kLevelGroup, {0.05, 0.04, 0.003, 0.3, 200, 20261207}}};
  auto payload = encode_entry(epoch);
  std::string count_and_name(8, '\0');
  count_and_name[0] = 1;                                             // one conditional figure
  count_and_name += std::string("\x05\0\0\0\0\0\0\0", 8) + "level";  // its name
  const auto at = payload.find(count_and_name);
  REQUIRE(at != std::string::npos);
  payload.erase(at, 8);
  payload[0] = 4;
  const auto e = std::get<EpochRecord>(decode_entry(payload));
  const auto* size = e.test_routing[0].group(kSizeGroup);
  REQUIRE(size != nullptr);
  CHECK(size->mi_null.p_value == 1.0 / 201);
  REQUIRE(size->given.size() == 1);
  CHECK(size->given[0].given == kLevelGroup);
  CHECK(size->given[0].mi.p_value == 0.3);
}
