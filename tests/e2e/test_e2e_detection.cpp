// Detection through the real binary: `moexp data shapes`, then `moexp train` of the shipped RetinaNet experiment
// (shrunk with --set), its rows in the database, the report's detection columns, and bad input as one line, exit 2.
#include "coco/image_decode.hpp"
#include "core/text.hpp"
#include "e2e/process.hpp"
#include "report/detection_gallery.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

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

// Run 1 of `db` (an MoE cls_head RetinaNet on 6 validation images): `evaluate --dump-routing --gallery` writes a row
// per (image, level) and per (object, level), and every validation image with each object's box in the colour of the
// expert its (image, level) token went to; a requested image that is not there is one line, exit 2.
void check_routing_dump_and_gallery(const TempDir& dir, const fs::path& db) {
  const auto csv = dir / "routing.csv";
  const auto gallery = dir / "gallery";
  auto r = run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--dump-routing", csv.string(), "--gallery",
                gallery.string(), "--gallery-size", "6"},
               dir.path(), 120);
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("routing written to " + csv.string() + " (per image and level) and " +
                   (dir / "routing.objects.csv").string()) != std::string::npos);
  CHECK(r.out.find("gallery written to " + (gallery / "index.html").string()) != std::string::npos);
  const auto image_rows = core::split(read_file(csv), '\n');
  CHECK(image_rows.front().rfind("image_id,level,pyramid_level,cls_head_weight_0,", 0) == 0);
  CHECK(image_rows.size() == 1 + 6 * 4 + 1);  // header, 6 images x levels P3-P6, the empty piece after the last \n
  // Per object: its box and, per level with positive anchors, the anchors and the top expert.
  struct Object {
    double x = 0, y = 0;
    std::int64_t image = 0, best_anchors = 0, expert = -1;
  };
  std::map<std::int64_t, Object> objects;
  const auto object_rows = core::split(read_file(dir / "routing.objects.csv"), '\n');
  REQUIRE(object_rows.size() > 2);
  for (std::size_t i = 1; i < object_rows.size(); ++i) {
    if (object_rows[i].empty()) {
      continue;
    }
    const auto f = core::split(object_rows[i], ',');
    REQUIRE(f.size() == 13 + 4 + 1);  // 13 columns, 4 weights, the top expert
    auto& o = objects[std::stoll(f[1])];
    o.image = std::stoll(f[0]);
    o.x = std::stod(f[4]);
    o.y = std::stod(f[5]);
    if (const auto anchors = std::stoll(f[12]); anchors > o.best_anchors) {  // rows come level by level
      o.best_anchors = anchors;
      o.expert = std::stoll(f.back());
    }
  }
  std::int64_t checked = 0;
  for (const auto& [id, o] : objects) {
    const auto png = gallery / fmt::format("cls_head_image{}.png", o.image);
    REQUIRE(fs::exists(png));
    const auto image = coco::decode_image(png);
    REQUIRE(image.width == 160);  // the shapes set's size: not reduced
    // The box's top-left pixel has its expert's colour unless another object's box passes there.
    const auto x = static_cast<int>(std::lround(o.x)), y = static_cast<int>(std::lround(o.y));
    const bool crossed = std::any_of(objects.begin(), objects.end(), [&](const auto& other) {
      return other.first != id && other.second.image == o.image && std::abs(other.second.x - o.x) < 3;
    });
    if (crossed) {
      continue;
    }
    const auto* p = &image.rgb[static_cast<std::size_t>((y * image.width + x) * 3)];
    const auto colour = report::expert_colour(o.expert);
    CAPTURE(id);
    CHECK(std::array<std::uint8_t, 3>{p[0], p[1], p[2]} == colour);
    ++checked;
  }
  CHECK(checked > 0);
  const auto page = read_file(gallery / "index.html");
  CHECK(page.find("<h2>MoE cls_head</h2>") != std::string::npos);
  CHECK(page.find("drawn at random (seed") != std::string::npos);
  CHECK(fs::exists(gallery / "gallery.json"));
  // In the run folder, the HTML report shows each expert's objects.
  REQUIRE(run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--gallery"}, dir.path(), 120).exit_code == 0);
  auto report = run({MOEXP_BIN, "report", "--db", db.string(), "--format", "html"}, dir.path(), 60);
  REQUIRE(report.exit_code == 0);
  CHECK(report.out.find("<h2>What each expert sees, over seeds</h2>") != std::string::npos);
  CHECK(report.out.find("cls_head expert 3 — ") != std::string::npos);
  auto missing =
      run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--gallery", (dir / "g2").string(), "--images", "987654"},
          dir.path(), 120);
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "moexp: error: evaluate: --images: image 987654 is not in the evaluated split\n");
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
  check_routing_dump_and_gallery(dir, db);
  // Detection runs evaluate their validation split: another is refused before the data loads (with the training
  // annotations broken, the refusal is still the option's, not the file's).
  write_file(data / "annotations/instances_train.json", "{");
  auto train_split = run({MOEXP_BIN, "evaluate", "1", "--db", db.string(), "--split", "train"}, dir.path(), 60);
  CAPTURE(train_split.err);
  CHECK(train_split.exit_code == 2);
  CHECK(train_split.err.find("evaluate: run 1 is a detection run: it evaluates its validation split") !=
        std::string::npos);
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
