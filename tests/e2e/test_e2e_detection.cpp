// Detection through the real binary: `moexp data shapes`, then `moexp train` of the shipped RetinaNet experiment
// (shrunk with --set), its rows in the database, the report's detection columns, and bad input as one line, exit 2.
#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

const std::string kExperiment = std::string(MOEXP_SOURCE_DIR) + "/experiments/shapes_retinanet_moe.toml";

// The shipped experiment, shrunk to seconds.
std::vector<std::string> tiny_train(const fs::path& data, const fs::path& db) {
  return {MOEXP_BIN,
          "train",
          kExperiment,
          "--db",
          db.string(),
          "--set",
          "data.path=" + data.string(),
          "--set",
          "model.width=0.125",
          "--set",
          "detection.fpn_channels=16",
          "--set",
          "train.epochs=2",
          "--set",
          "train.batch_size=4",
          "--set",
          "train.threads=1"};
}

// `moexp data shapes` of `train` / `val` 160 px images into dir/shapes; the folder.
fs::path make_shapes(const TempDir& dir, int train, int val) {
  const auto data = dir / "shapes";
  auto gen = run({MOEXP_BIN, "data", "shapes", "--out", data.string(), "--train", std::to_string(train), "--val",
                  std::to_string(val), "--size", "160"},
                 dir.path(), 60);
  CAPTURE(gen.err);
  REQUIRE(gen.exit_code == 0);
  return data;
}

}  // namespace

TEST_CASE("e2e detection: a generated shapes set trains RetinaNet with an MoE head, the report shows AP and size MI") {
  TempDir dir;
  const auto data = make_shapes(dir, 12, 6);
  const auto db = dir / "moexp.db";
  auto r = run(tiny_train(data, db), dir.path(), 120);
  CAPTURE(r.out);
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("(retinanet resnet18 x0.125, 4 experts, k=2, importance, 12 train / 6 test images)") !=
        std::string::npos);
  CHECK(r.out.find("moe@cls_head cv") != std::string::npos);
  CHECK(r.out.find(" ap ") != std::string::npos);
  {
    store::ResultStore store(db.string());
    CHECK(store.runs().find(1)->status == RunStatus::finished);
    const auto epochs = store.metrics().epochs(1);
    REQUIRE(epochs.size() == 2);
    CHECK(epochs.back().find("test_ap"));
    CHECK(epochs.back().find("train_box_loss"));
  }
  auto report = run({MOEXP_BIN, "report", "--db", db.string()}, dir.path(), 60);
  CAPTURE(report.err);
  REQUIRE(report.exit_code == 0);
  CHECK(report.out.find("AP (%)") != std::string::npos);
  CHECK(report.out.find("size MI") != std::string::npos);
  CHECK(report.out.find("level MI") != std::string::npos);
  CHECK(report.out.find("final acc") == std::string::npos);
  auto runs = run({MOEXP_BIN, "runs", "--db", db.string()}, dir.path(), 60);
  CAPTURE(runs.out);
  REQUIRE(runs.exit_code == 0);
  CHECK(runs.out.find("test AP") != std::string::npos);
  CHECK(runs.out.find("cls_head") != std::string::npos);
  // moexp evaluate: every routing setting on the validation split, stored; the trained setting's detections in
  // COCO's results format, which eval-coco scores to the same AP.
  const auto dets = dir / "dets.json";
  auto evaluate = run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--k", "all", "--force-expert", "1",
                       "--uniform", "--dump-detections", dets.string(), "--json"},
                      dir.path(), 120);
  CAPTURE(evaluate.err);
  REQUIRE(evaluate.exit_code == 0);
  for (const char* setting : {"\"trained\"", "\"k=1\"", "\"k=4\"", "\"expert=1\"", "\"uniform\""}) {
    CAPTURE(setting);
    CHECK(evaluate.out.find(setting) != std::string::npos);
  }
  CHECK(evaluate.out.find("\"level_mi\"") != std::string::npos);
  CHECK(evaluate.out.find("\"size_mi\"") != std::string::npos);
  REQUIRE(std::filesystem::exists(dets));
  auto scored =
      run({MOEXP_BIN, "data", "eval-coco", (data / "annotations/instances_val.json").string(), dets.string(), "--json"},
          dir.path(), 60);
  CAPTURE(scored.err);
  REQUIRE(scored.exit_code == 0);
  // The number after the first `key` in `text`.
  auto number_after = [](const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + key.size()));
  };
  CHECK(number_after(scored.out, "\"AP\": ") == doctest::Approx(number_after(evaluate.out, "\"ap\": ")).epsilon(1e-12));
  // Detection runs evaluate their validation split and dump detections, not per-image routing: refused before the
  // data loads (with the training annotations broken, the refusal is still the option's, not the file's).
  write_file(data / "annotations/instances_train.json", "{");
  auto train_split = run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--split", "train"}, dir.path(), 60);
  CAPTURE(train_split.err);
  CHECK(train_split.exit_code == 2);
  CHECK(train_split.err.find("evaluate: run 1 is a detection run: it evaluates its validation split") !=
        std::string::npos);
  auto routing = run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--dump-routing", (dir / "r.csv").string()},
                     dir.path(), 60);
  CHECK(routing.exit_code == 2);
  CHECK(routing.err.find("evaluate: --dump-routing writes per-image routing of classification runs") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "r.csv"));
}

TEST_CASE("e2e detection: MoE heads start from a dense run of the same database, its backbone and FPN frozen") {
  TempDir dir;
  const auto data = make_shapes(dir, 8, 4);
  const auto db = dir / "moexp.db";
  auto dense = tiny_train(data, db);
  dense.insert(dense.end(), {"--set", "moe.enabled=false", "--set", "train.epochs=1"});
  auto r = run(dense, dir.path(), 120);
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  auto moe = tiny_train(data, db);
  moe.insert(moe.end(),
             {"--set", "model.init_from=1", "--set", "model.freeze=backbone_fpn", "--set", "train.epochs=1"});
  auto m = run(moe, dir.path(), 120);
  CAPTURE(m.out);
  CAPTURE(m.err);
  REQUIRE(m.exit_code == 0);
  CHECK(m.out.find("run 2: initialised from " + (dir / "runs/1/checkpoint.pt").string() + ": backbone ") !=
        std::string::npos);
  CHECK(m.out.find("run 2: frozen: backbone, fpn\n") != std::string::npos);
  // A run id that is not there: one line naming the key, exit 2, no new run.
  auto bad = tiny_train(data, db);
  bad.insert(bad.end(), {"--set", "model.init_from=7"});
  auto b = run(bad, dir.path(), 60);
  CHECK(b.exit_code == 2);
  CHECK(b.err == "moexp: error: model.init_from: no run 7 in " + db.string() + "\n");
  store::ResultStore store(db.string());
  CHECK_FALSE(store.runs().find(3));
}

TEST_CASE(
    "e2e detection: missing data and a classification network are one line naming the key, exit 2, nothing "
    "written") {
  TempDir dir;
  const auto db = dir / "moexp.db";
  auto missing = run(tiny_train(dir / "nowhere", db), dir.path(), 60);
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("data.path: annotation file '" + (dir / "nowhere/annotations/instances_train.json").string() +
                         "' not found (generate it: moexp data shapes --out DIR)\n") != std::string::npos);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  auto argv = tiny_train(dir / "nowhere", db);
  argv.insert(argv.end(), {"--set", "model.arch=resnet8"});
  auto wrong = run(argv, dir.path(), 60);
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err.find("model.arch: 'resnet8' is a classification network") != std::string::npos);
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE(
    "e2e detection: the shipped detection study (dense run, then sweeps/shapes_detection.toml on its frozen "
    "backbone) runs tiny; its report compares AP") {
  TempDir dir;
  const auto data = make_shapes(dir, 8, 4);
  const auto db = dir / "moexp.db";
  const std::vector<std::string> shrink{"--set", "data.path=" + data.string(), "--set", "model.width=0.125",
                                        "--set", "detection.fpn_channels=16",  "--set", "train.epochs=1",
                                        "--set", "train.batch_size=4"};
  std::vector<std::string> dense{
      MOEXP_BIN,        "train",     std::string(MOEXP_SOURCE_DIR) + "/experiments/shapes_retinanet_dense.toml",
      "--db",           db.string(), "--set",
      "train.threads=1"};
  dense.insert(dense.end(), shrink.begin(), shrink.end());
  auto baseline = run(dense, dir.path(), 120);
  CAPTURE(baseline.err);
  REQUIRE(baseline.exit_code == 0);
  const std::string spec = std::string(MOEXP_SOURCE_DIR) + "/sweeps/shapes_detection.toml";
  std::vector<std::string> argv{MOEXP_BIN, "sweep", spec, "--db", db.string()};
  argv.insert(argv.end(), shrink.begin(), shrink.end());
  // Without the dense run the plan stops at model.freeze, one line, exit 2.
  auto unplanned = run(argv, dir.path(), 60);
  CHECK(unplanned.exit_code == 2);
  CHECK(unplanned.err.find("model.freeze: freezing the FPN of a randomly initialised network; set model.init_from") !=
        std::string::npos);
  argv.insert(argv.end(), {"--set", "model.init_from=1"});
  auto sweep = run(argv, dir.path(), 600);
  CAPTURE(sweep.out);
  CAPTURE(sweep.err);
  REQUIRE(sweep.exit_code == 0);
  CHECK(sweep.out.find("39 runs, 39 finished") != std::string::npos);
  auto report =
      run({MOEXP_BIN, "report", "shapes-detection", "--db", db.string(), "--compare-all", "none"}, dir.path(), 60);
  CAPTURE(report.err);
  REQUIRE(report.exit_code == 0);
  CHECK(report.out.find("(AP (%)), paired by seed") != std::string::npos);
  CHECK(report.out.find("moe.head") != std::string::npos);  // the heads are compared apart
  CHECK(report.out.find("box_head") != std::string::npos);
  for (const char* scheme : {"importance", "kl", "load", "relative", "absolute"}) {
    CAPTURE(scheme);
    CHECK(report.out.find(scheme) != std::string::npos);
  }
  auto html = run({MOEXP_BIN, "report", "shapes-detection", "--db", db.string(), "--format", "html"}, dir.path(), 60);
  REQUIRE(html.exit_code == 0);
  CHECK(html.out.find("size x expert") != std::string::npos);
  CHECK(html.out.find(">small<") != std::string::npos);
  CHECK(html.out.find(">P3<") != std::string::npos);
  CHECK(html.out.find("AP (%) per epoch") != std::string::npos);  // the learning curves offer AP
}
