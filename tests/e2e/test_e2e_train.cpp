// moexp train through the real binary: a tiny synthetic run end to end, bad input, and kill-and-resume.
#include "config/canonical.hpp"
#include "config/load.hpp"
#include "e2e/process.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "sweep/local/executor.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <numeric>
#include <thread>

using namespace moexp;
using namespace moexp::test;

namespace {

std::vector<std::string> train_args(const std::filesystem::path& exp, const std::filesystem::path& db,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{MOEXP_BIN, "train", exp.string(), "--db", db.string(), "--device", "cpu"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace

TEST_CASE("e2e train: a tiny synthetic experiment ends finished with consistent rows") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  auto db_path = dir / "results/moexp.db";
  auto r = run(train_args(exp, db_path), dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("run 1: 'tiny'") == 0);
  CHECK(std::filesystem::exists(dir / "results/runs/1/checkpoint.pt"));
  CHECK(read_file(dir / "results/runs/1/config.toml").find("[moe]") != std::string::npos);
  store::ResultStore db(db_path.string());
  auto run = db.runs().find(1);
  REQUIRE(run);
  CHECK(run->status == RunStatus::finished);
  CHECK(run->epochs_done == 2);
  CHECK(db.metrics().epochs(1).size() == 2);
  std::map<std::tuple<std::int64_t, std::string, std::int64_t>, std::pair<double, double>> sums;
  for (const auto& row : db.routing().expert_stats(1)) {
    auto& s = sums[{row.epoch, row.split, row.layer}];
    s.first += row.importance_share;
    s.second += row.sample_share;
  }
  CHECK(sums.size() == 4);
  for (const auto& [key, s] : sums) {
    CHECK(s.first == doctest::Approx(1.0));
    CHECK(s.second == doctest::Approx(2.0));
  }
  // Named metrics: top-5 accuracy is recorded per split, at least the top-1 accuracy, and readable by name.
  for (const auto& e : db.metrics().epochs(1)) {
    CHECK(e.at("test_top5_acc") >= e.at("test_acc"));
    CHECK(e.at("train_top5_acc") >= e.at("train_acc"));
    CHECK(e.at("test_top5_acc") <= 1.0);
  }
  auto report = test::run(
      {MOEXP_BIN, "report", "--db", db_path.string(), "--metrics", "test_top5_acc", "--format", "csv"}, dir.path());
  INFO(report.err);
  CHECK(report.exit_code == 0);
  CHECK(report.out.find("test_top5_acc_mean,test_top5_acc_std") != std::string::npos);
  auto listed = test::run({MOEXP_BIN, "runs", "--db", db_path.string(), "--where", "test_top5_acc >= 0", "--sort",
                           "-test_top5_acc", "--format", "csv"},
                          dir.path());
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("\n1,finished,") != std::string::npos);
  auto typo = test::run({MOEXP_BIN, "runs", "--db", db_path.string(), "--sort", "test_top5_ac"}, dir.path());
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("unknown metric 'test_top5_ac'") != std::string::npos);
  CHECK(typo.err.find("did you mean 'test_top5_acc'?") != std::string::npos);
}

TEST_CASE("e2e train: the binary's heap allocator is jemalloc without purging where the build links it") {
  // jemalloc prints its options at exit when MALLOC_CONF asks; glibc's malloc ignores the variable.
  TempDir dir;
  ::setenv("MALLOC_CONF", "stats_print:true", 1);
  const auto result = run({MOEXP_BIN, "--version"}, dir.path(), 60);
  ::unsetenv("MALLOC_CONF");
  REQUIRE(result.exit_code == 0);
  const bool jemalloc = result.err.find("jemalloc statistics") != std::string::npos;
  CHECK(jemalloc == static_cast<bool>(MOEXP_JEMALLOC));
  if (jemalloc) {
    CHECK(result.err.find("opt.dirty_decay_ms: -1") != std::string::npos);
    CHECK(result.err.find("opt.muzzy_decay_ms: -1") != std::string::npos);
  }
}

TEST_CASE("e2e train: bad input exits 2 with one line and writes nothing") {
  TempDir dir;
  auto exp = write_file(dir / "bad.toml", "[moe]\nnum_experts = 4\nk = 5\n[data]\ndataset = \"synthetic\"\n");
  auto db_path = dir / "results/moexp.db";
  auto r = run(train_args(exp, db_path), dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "moexp: error: " + exp.string() + ":3:1: moe.k: k = 5 exceeds moe.num_experts = 4; k must be in 1..4\n");
  CHECK_FALSE(std::filesystem::exists(dir / "results"));

  auto good = write_file(dir / "good.toml", tiny_experiment_toml());
  auto typo = run(train_args(good, db_path, {"--set", "train.epoch=3"}), dir.path());
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("did you mean 'train.epochs'?") != std::string::npos);
  auto device = run(train_args(good, db_path, {"--device", "tpu"}), dir.path());
  CHECK(device.exit_code == 2);
  auto missing = run(train_args(good, db_path, {"--resume", "5"}), dir.path());
  CHECK(missing.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir / "results"));
}

TEST_CASE("e2e train: a run killed mid-way resumes and reproduces the uninterrupted metrics") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const std::vector<std::string> settings{"--set", "train.epochs=4", "--set", "data.synthetic_train=512"};
  auto reference_db = dir / "ref/moexp.db";
  auto ref = run(train_args(exp, reference_db, settings), dir.path());
  REQUIRE(ref.exit_code == 0);

  auto db_path = dir / "killed/moexp.db";
  pid_t pid = spawn(train_args(exp, db_path, settings), dir / "k.out", dir / "k.err");
  // Wait until at least one epoch is stored, then SIGKILL (no chance to clean up).
  std::int64_t done = 0;
  for (int i = 0; i < 600 && done < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(dir / "killed/runs/1/checkpoint.pt")) {
      store::ResultStore db(db_path.string());
      if (auto row = db.runs().find(1)) {
        done = row->epochs_done;
      }
    }
  }
  ::kill(pid, SIGKILL);
  CHECK(wait_for(pid) == 128 + SIGKILL);
  REQUIRE(done >= 1);
  {
    store::ResultStore db(db_path.string());
    CHECK(db.runs().find(1)->status == RunStatus::running);  // killed: nobody marked it
  }
  auto resumed = run({MOEXP_BIN, "train", "--resume", "1", "--db", db_path.string(), "--device", "cpu"}, dir.path());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.out.find("resuming") != std::string::npos);

  store::ResultStore a(reference_db.string());
  store::ResultStore b(db_path.string());
  CHECK(b.runs().find(1)->status == RunStatus::finished);
  auto ea = a.metrics().epochs(1);
  auto eb = b.metrics().epochs(1);
  REQUIRE(ea.size() == 4);
  REQUIRE(eb.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("epoch " << i + 1);
    CHECK(eb[i].at("train_loss") == doctest::Approx(ea[i].at("train_loss")).epsilon(1e-6));
    CHECK(eb[i].at("test_loss") == doctest::Approx(ea[i].at("test_loss")).epsilon(1e-6));
    CHECK(eb[i].at("test_acc") == ea[i].at("test_acc"));
  }
  CHECK(b.routing().expert_stats(1).size() == a.routing().expert_stats(1).size());
  auto again = run({MOEXP_BIN, "train", "--resume", "1", "--db", db_path.string()}, dir.path());
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("already finished") != std::string::npos);
}

TEST_CASE("e2e train: SIGTERM stops a run cleanly: exit 130, status interrupted") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  auto db_path = dir / "results/moexp.db";
  pid_t pid = spawn(train_args(exp, db_path, {"--set", "train.epochs=50"}), dir / "t.out", dir / "t.err");
  for (int i = 0; i < 600 && !std::filesystem::exists(dir / "results/runs/1/checkpoint.pt"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGTERM);
  CHECK(wait_for(pid) == 130);
  store::ResultStore db(db_path.string());
  auto row = db.runs().find(1);
  REQUIRE(row);
  CHECK(row->status == RunStatus::interrupted);
  CHECK(row->epochs_done < 50);
  CHECK_FALSE(row->finished_at.empty());
}

TEST_CASE("e2e train: a journal-writing run killed mid-way resumes from its checkpoint, its journal never behind it") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const std::vector<std::string> settings{"train.epochs=4", "data.synthetic_train=512"};
  // The reference: the same run in the database, uninterrupted.
  auto reference_db = dir / "ref/moexp.db";
  auto ref = run(train_args(exp, reference_db, {"--set", settings[0], "--set", settings[1]}), dir.path());
  REQUIRE(ref.exit_code == 0);
  // A sweep's pending run with its setup written into its folder, as a sweep with journal = true leaves it.
  const auto db_path = (dir / "results/moexp.db").string();
  std::int64_t run_id = 0;
  {
    const auto cfg = config::load_experiment_file(exp, settings).config;
    store::ResultStore db(db_path);
    run_id = db.runs().create_pending({.name = cfg.name,
                                       .config_toml = config::canonical_toml(cfg),
                                       .config_hash = config::config_hash(cfg),
                                       .params = config::config_params(cfg)});
    sweep::write_run_setup(db_path, *db.runs().find(run_id));
  }
  const auto folder = store::run_folder(db_path, run_id);
  const auto journal_file = journal::journal_path(folder);
  const std::vector<std::string> argv{MOEXP_BIN,      "train",         "--resume", std::to_string(run_id),
                                      "--run-folder", folder.string(), "--device", "cpu"};
  const pid_t pid = spawn(argv, dir / "k.out", dir / "k.err");
  // Kill it (no chance to clean up) once its journal holds an epoch and a checkpoint exists.
  std::size_t records = 0;
  for (int i = 0; i < 1200 && (records < 2 || !std::filesystem::exists(folder / "checkpoint.pt")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (std::filesystem::exists(journal_file)) {
      records = journal::read_records(journal_file).records.size();
    }
  }
  ::kill(pid, SIGKILL);
  CHECK(wait_for(pid) == 128 + SIGKILL);
  REQUIRE(records >= 2);
  auto resumed = run(argv, dir.path());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.out.find("resuming") != std::string::npos);
  // The second start kept the checkpoint's epochs, and the first process had journaled at least that many.
  std::vector<journal::JournalEntry> entries;
  for (const auto& payload : journal::read_records(journal_file).records) {
    entries.push_back(journal::decode_entry(payload));
  }
  std::int64_t epochs_before_kill = 0, kept = -1;
  for (const auto& e : entries) {
    if (const auto* start = std::get_if<journal::JournalStart>(&e); start && kept < 0 && epochs_before_kill > 0) {
      kept = start->keep_epochs;
    } else if (std::holds_alternative<EpochRecord>(e) && kept < 0) {
      ++epochs_before_kill;
    }
  }
  CHECK(kept >= 1);
  CHECK(epochs_before_kill >= kept);
  // Ingested, the run equals the uninterrupted one, each epoch once.
  store::ResultStore db(db_path);
  db.ingest_journal(run_id, journal_file);
  store::ResultStore reference(reference_db.string());
  CHECK(db.runs().find(run_id)->status == RunStatus::finished);
  const auto ea = reference.metrics().epochs(1);
  const auto eb = db.metrics().epochs(run_id);
  REQUIRE(eb.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("epoch " << i + 1);
    CHECK(eb[i].epoch == static_cast<int>(i + 1));
    CHECK(eb[i].at("test_acc") == ea[i].at("test_acc"));
    CHECK(eb[i].at("train_loss") == doctest::Approx(ea[i].at("train_loss")).epsilon(1e-6));
  }
}

TEST_CASE("e2e train: data.on_device on and off train the same run bit for bit, under the same config hash") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  std::vector<std::vector<EpochRecord>> epochs;
  std::vector<std::string> hashes;
  for (const char* setting : {"on", "off"}) {
    const auto db_path = dir / setting / "moexp.db";
    auto r = run(train_args(exp, db_path, {"--set", std::string("data.on_device=") + setting}), dir.path());
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    store::ResultStore db(db_path.string());
    epochs.push_back(db.metrics().epochs(1));
    hashes.push_back(db.runs().find(1)->config_hash);
  }
  CHECK(hashes[0] == hashes[1]);
  REQUIRE(epochs[0].size() == 2);
  REQUIRE(epochs[1].size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    for (const char* key : {"train_loss", "train_acc", "test_loss", "test_acc"}) {
      CAPTURE(key);
      CHECK(epochs[0][e].at(key) == epochs[1][e].at(key));
    }
  }
}

TEST_CASE("e2e train: moe.capacity_factor drops pairs past each expert's capacity, and the count is never silent") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db_path = dir / "moexp.db";
  auto r = run(train_args(exp, db_path, {"--set", "moe.capacity_factor=0.5"}), dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(" dropped ") != std::string::npos);  // the epoch line
  {
    store::ResultStore db(db_path.string());
    const auto epochs = db.metrics().epochs(1);
    REQUIRE(epochs.size() == 2);
    // Half the slots the pairs need: at least half of them dropped.
    CHECK(epochs.back().at("train_dropped_share") >= 0.5);
    CHECK(epochs.back().at("train_dropped_share") <= 1.0);
  }
  auto report = run({MOEXP_BIN, "report", "--db", db_path.string()}, dir.path());
  REQUIRE(report.exit_code == 0);
  CHECK(report.out.find("dropped pairs (%)") != std::string::npos);
  // A detection config refuses the key: one line, exit 2.
  auto detection = run({MOEXP_BIN, "train", std::string(MOEXP_SOURCE_DIR) + "/experiments/shapes_retinanet_moe.toml",
                        "--db", (dir / "d.db").string(), "--set", "moe.capacity_factor=1"},
                       dir.path());
  CHECK(detection.exit_code == 2);
  CHECK(detection.err.find("moe.capacity_factor: a classification option for now") != std::string::npos);
}
