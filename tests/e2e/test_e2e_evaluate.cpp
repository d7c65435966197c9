// moexp evaluate through the real binary on a tiny trained run.
#include "coco/image_decode.hpp"
#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

using namespace moexp;
using namespace moexp::test;

TEST_CASE("e2e evaluate: every setting is printed, stored and consistent with training") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db_path = (dir / "results/moexp.db").string();
  REQUIRE(run({MOEXP_BIN, "train", exp.string(), "--db", db_path, "--device", "cpu"}, dir.path()).exit_code == 0);
  auto r = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--k", "all", "--force-expert", "all", "--uniform",
                "--dump-routing", (dir / "routing.csv").string(), "--device", "cpu"},
               dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("class x expert") != std::string::npos);
  CHECK(r.out.find("superclass x expert") != std::string::npos);
  CHECK(r.out.find("shuffled-label control") != std::string::npos);

  store::ResultStore db(db_path);
  auto evals = db.metrics().evaluations(1);
  REQUIRE(evals.size() == 1 + 4 + 4 + 1);  // trained, k=1..4, expert=0..3, uniform
  CHECK(evals[0].setting == "trained");
  CHECK(evals[2].setting == "k=2");
  CHECK(evals[9].setting == "uniform");
  // k equal to the trained k reproduces the model's own accuracy, which is the last epoch's test accuracy.
  CHECK(evals[2].metrics.at("acc") == evals[0].metrics.at("acc"));
  CHECK(evals[0].metrics.at("acc") == doctest::Approx(db.metrics().epochs(1).back().at("test_acc")));
  // Invariants of the stored routing of each evaluation.
  std::size_t evaluation_snapshots = 0;
  for (const auto& snap : db.routing().snapshots(1)) {
    if (!snap.evaluation_id) {
      continue;
    }
    ++evaluation_snapshots;
    for (const auto& layer : db.routing().snapshot(snap.id)) {
      CHECK(std::accumulate(layer.importance_share.begin(), layer.importance_share.end(), 0.0) == doctest::Approx(1.0));
      const GroupRouting* classes = layer.group(kClassGroup);
      REQUIRE(classes != nullptr);
      for (const auto& row : classes->group_expert) {
        CHECK(std::accumulate(row.begin(), row.end(), 0.0) == doctest::Approx(1.0));
      }
      CHECK(classes->mi >= 0.0);
      CHECK(classes->mi <= 1.0);
    }
  }
  CHECK(evaluation_snapshots == 10);
  // Forced expert 2: all weight on expert 2.
  auto snaps = db.routing().snapshots(1);
  for (const auto& snap : snaps) {
    if (snap.evaluation_id && *snap.evaluation_id == evals[7].id) {
      auto layer = db.routing().snapshot(snap.id).at(0);
      CHECK(layer.importance_share[2] == doctest::Approx(1.0));
      CHECK(layer.sample_share[2] == doctest::Approx(1.0));
    }
  }
  auto csv = read_file(dir / "routing.csv");
  CHECK(csv.find("index,layer,label,class,superclass,logit_0") == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 128);

  auto json = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--json", "--device", "cpu"}, dir.path());
  CHECK(json.exit_code == 0);
  CHECK(json.out.find("{\"run_id\": 1,") == 0);
}

TEST_CASE("e2e evaluate: --gallery writes each expert's top and control thumbnails and a page naming them") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db_path = (dir / "results/moexp.db").string();
  REQUIRE(run({MOEXP_BIN, "train", exp.string(), "--db", db_path, "--device", "cpu"}, dir.path()).exit_code == 0);
  auto r = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--gallery", (dir / "gallery").string(), "--gallery-size",
                "4", "--device", "cpu"},
               dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("gallery written to") != std::string::npos);
  const auto page = read_file(dir / "gallery/index.html");
  std::size_t thumbnails = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "gallery")) {
    if (entry.path().extension() != ".png") {
      continue;
    }
    ++thumbnails;
    const auto image = coco::decode_image(entry.path());  // a real PNG at the dataset's size
    CHECK(image.width == 12);
    CHECK(image.height == 12);
    CHECK(page.find("src=\"" + entry.path().filename().string() + "\"") != std::string::npos);
  }
  CHECK(thumbnails >= 4 * 4 + 1);  // 4 experts x 4 top images, plus the control's
  CHECK(thumbnails <= 4 * 4 + 4);
  CHECK(page.find("drawn at random") != std::string::npos);

  auto inline_run = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--gallery", (dir / "one").string(),
                         "--gallery-inline", "--device", "cpu"},
                        dir.path());
  REQUIRE(inline_run.exit_code == 0);
  CHECK(read_file(dir / "one/index.html").find("src=\"data:image/png;base64,") != std::string::npos);
  // One page, and the manifest the HTML report reads.
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "one"), std::filesystem::directory_iterator{}) == 2);
  CHECK(std::filesystem::exists(dir / "one/gallery.json"));
  // Without DIR: the run folder's gallery/, where `report --format html` finds it.
  auto in_run = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--gallery", "--gallery-size", "2"}, dir.path());
  REQUIRE(in_run.exit_code == 0);
  CHECK(in_run.out.find("gallery written to " + (dir / "results/runs/1/gallery/index.html").string()) !=
        std::string::npos);
  CHECK(std::filesystem::exists(dir / "results/runs/1/gallery/gallery.json"));
}

TEST_CASE("e2e evaluate: a missing run, a corrupt checkpoint or a bad option exits 2 with one line") {
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db_path = (dir / "results/moexp.db").string();
  REQUIRE(run({MOEXP_BIN, "train", exp.string(), "--db", db_path, "--set", "train.epochs=1"}, dir.path()).exit_code ==
          0);
  auto missing = run({MOEXP_BIN, "evaluate", "7", "--db", db_path}, dir.path());
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "moexp: error: evaluate: no run 7 in " + db_path + "\n");
  auto bad_k = run({MOEXP_BIN, "evaluate", "1", "--db", db_path, "--k", "9"}, dir.path());
  CHECK(bad_k.exit_code == 2);
  CHECK(bad_k.err.find("--k 9: expected a number from 1 to 4, or all") != std::string::npos);
  write_file(dir / "results/runs/1/checkpoint.pt", "garbage");
  auto corrupt = run({MOEXP_BIN, "evaluate", "1", "--db", db_path}, dir.path());
  CHECK(corrupt.exit_code == 2);
  CHECK(corrupt.err.find("not a usable checkpoint") != std::string::npos);
  CHECK(std::count(corrupt.err.begin(), corrupt.err.end(), '\n') == 1);
  store::ResultStore db(db_path);
  CHECK(db.metrics().evaluations(1).empty());
}
