// moexp report / runs through the real binary, and the HTML report rendered in a real headless browser.
#include "coco/image_decode.hpp"
#include "e2e/process.hpp"
#include "report/render.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

using namespace moexp;
using namespace moexp::test;

namespace {

report::ReportTable fixture_table() {
  std::vector<store::RunSummary> runs;
  const char* kinds[] = {"importance", "relative"};
  for (const char* kind : kinds) {
    for (int experts : {4, 10}) {
      for (int seed = 0; seed < 3; ++seed) {
        store::RunSummary r;
        r.status = RunStatus::finished;
        r.params = {{"constraint.kind", std::string("'") + kind + "'"},
                    {"moe.num_experts", std::to_string(experts)},
                    {"moe.enabled", "true"}};
        r.metrics["test_acc"] = 0.7 + 0.01 * seed + (experts == 10 ? 0.02 : 0.0) + (kind[0] == 'r' ? 0.03 : 0.0);
        runs.push_back(r);
      }
    }
  }
  return report::summarize(runs, {"constraint.kind", "moe.num_experts"}, {"test_acc"});
}

std::string chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(path)) {
      return path;
    }
  }
  return "";
}

// Headless Chromium at `window` ("W,H") on `page`, with its profile in `dir`: `action` is "--dump-dom" (the DOM on
// stdout) or "--screenshot=FILE".
ProcessResult chromium_run(const std::string& browser, const std::filesystem::path& dir, const std::string& window,
                           const std::string& action, const std::filesystem::path& page) {
  return run(
      {browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--user-data-dir=" + (dir / "profile").string(), "--window-size=" + window, action, "file://" + page.string()},
      dir);
}

}  // namespace

TEST_CASE("e2e report: the HTML page renders in headless Chromium with its table and plot") {
  const auto browser = chromium();
  if (browser.empty()) {
    MESSAGE("skipped: Chromium is not installed (make deps installs the Debian package chromium)");
    return;
  }
  TempDir dir;
  auto page = write_file(dir / "report.html", report::render_html(fixture_table(), "browser check"));
  auto dom = chromium_run(browser, dir.path(), "900,700", "--dump-dom", page);
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  CHECK(dom.out.find("<h1>browser check</h1>") != std::string::npos);
  CHECK(dom.out.find("<td>relative</td>") != std::string::npos);
  CHECK(dom.out.find("<polyline") != std::string::npos);
  auto shot = chromium_run(browser, dir.path(), "900,700", "--screenshot=" + (dir / "shot.png").string(), page);
  REQUIRE(shot.exit_code == 0);
  REQUIRE(std::filesystem::exists(dir / "shot.png"));
  // A blank 900x700 page compresses to a few kilobytes; text, table and plot make it much larger.
  CHECK(std::filesystem::file_size(dir / "shot.png") > 12000);
  std::filesystem::copy_file(dir / "shot.png", std::filesystem::temp_directory_path() / "moexp-report-shot.png",
                             std::filesystem::copy_options::overwrite_existing);
}

TEST_CASE("e2e report: a tiny run of the claims study (sweeps/claims_fmnist.toml) renders in headless Chromium") {
  const auto browser = chromium();
  if (browser.empty()) {
    MESSAGE("skipped: Chromium is not installed (make deps installs the Debian package chromium)");
    return;
  }
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: real Fashion-MNIST is not installed (make deps installs dataset-fashion-mnist)");
    return;
  }
  TempDir dir;
  const std::string db = (dir / "moexp.db").string();
  const std::string spec = std::string(MOEXP_SOURCE_DIR) + "/sweeps/claims_fmnist.toml";
  // The same 39 configs (every scheme x {4, 10} experts x 3 seeds + dense), each on a sliver of the data.
  auto sweep = run({MOEXP_BIN, "sweep", spec, "--db", db, "--name", "claims-tiny", "--set", "train.epochs=2", "--set",
                    "data.limit_train=256", "--set", "data.limit_test=256", "--set", "train.batch_size=64"},
                   dir.path(), 900);
  INFO(sweep.out << sweep.err);
  REQUIRE(sweep.exit_code == 0);
  CHECK(sweep.out.find("sweep 'claims-tiny': 39 runs, 39 finished") != std::string::npos);
  const auto page = dir / "claims.html";
  auto report =
      run({MOEXP_BIN, "report", "claims-tiny", "--db", db, "--format", "html", "--out", page.string()}, dir.path());
  INFO(report.err);
  REQUIRE(report.exit_code == 0);

  auto dom = chromium_run(browser, dir.path(), "1280,2400", "--dump-dom", page);
  REQUIRE(dom.exit_code == 0);
  for (const char* scheme : {"none", "importance", "kl", "load", "relative", "absolute"}) {
    CHECK_MESSAGE(dom.out.find(fmt::format("<td>{}</td>", scheme)) != std::string::npos, scheme);
  }
  CHECK(dom.out.find("<h2>Per scheme</h2>") != std::string::npos);
  CHECK(dom.out.find("importance CV per scheme") != std::string::npos);
  CHECK(dom.out.find("<h2>Learning curves</h2>") != std::string::npos);
  CHECK(dom.out.find("<h2>Routing per group, over seeds</h2>") != std::string::npos);
  CHECK(dom.out.find("Experts of every seed aligned to seed") != std::string::npos);
  CHECK(dom.out.find("rows are shuffled (no shared structure) reaches") != std::string::npos);  // its own null
  REQUIRE(
      chromium_run(browser, dir.path(), "1280,2400", "--screenshot=" + (dir / "shot.png").string(), page).exit_code ==
      0);
  REQUIRE(std::filesystem::exists(dir / "shot.png"));
  CHECK(std::filesystem::file_size(dir / "shot.png") > 60000);  // plots and heatmaps, not a blank page
  std::filesystem::copy_file(dir / "shot.png", std::filesystem::temp_directory_path() / "moexp-claims-shot.png",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(page, std::filesystem::temp_directory_path() / "moexp-claims.html",
                             std::filesystem::copy_options::overwrite_existing);
}

TEST_CASE("e2e report: the seeds' galleries line up under aligned experts, and gallery pages render in Chromium") {
  const auto browser = chromium();
  if (browser.empty()) {
    MESSAGE("skipped: Chromium is not installed (make deps installs the Debian package chromium)");
    return;
  }
  TempDir dir;
  auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db = (dir / "results/moexp.db").string();
  for (const char* seed : {"1", "2"}) {
    auto t =
        run({MOEXP_BIN, "train", exp.string(), "--db", db, "--set", std::string("train.seed=") + seed}, dir.path());
    REQUIRE(t.exit_code == 0);
  }
  REQUIRE(run({MOEXP_BIN, "evaluate", "1", "--db", db, "--gallery"}, dir.path()).exit_code == 0);
  REQUIRE(run({MOEXP_BIN, "evaluate", "2", "--db", db, "--gallery", "--gallery-size", "4"}, dir.path()).exit_code == 0);
  const auto page = dir / "report.html";
  auto report = run({MOEXP_BIN, "report", "--db", db, "--format", "html", "--out", page.string()}, dir.path());
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  auto dom = chromium_run(browser, dir.path(), "1280,2400", "--dump-dom", page);
  REQUIRE(dom.exit_code == 0);
  CHECK(dom.out.find("<h2>What each expert sees, over seeds</h2>") != std::string::npos);
  CHECK(dom.out.find("<th>e3</th><th>control</th>") != std::string::npos);
  // Seed 1: 4 experts x 8 of its 32 top images and 8 control images; seed 2: 4 x 4 and 4.
  std::size_t thumbs = 0;
  for (auto at = dom.out.find("class=\"thumb\""); at != std::string::npos;
       at = dom.out.find("class=\"thumb\"", at + 1)) {
    ++thumbs;
  }
  CHECK(thumbs == 4 * 8 + 8 + 4 * 4 + 4);
  // The gallery page itself on screen: its thumbnails are not white, so a rendered page has dark regions.
  const auto gallery_page = dir / "results/runs/1/gallery/index.html";
  const auto shot = dir / "gallery.png";
  REQUIRE(chromium_run(browser, dir.path(), "1000,800", "--screenshot=" + shot.string(), gallery_page).exit_code == 0);
  const auto image = coco::decode_image(shot);
  std::size_t dark_below_title = 0;
  for (int y = 150; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const auto* p = &image.rgb[static_cast<std::size_t>((y * image.width + x) * 3)];
      dark_below_title += (p[0] < 200 || p[1] < 200 || p[2] < 200) ? 1 : 0;
    }
  }
  const auto area = static_cast<double>(image.width) * (image.height - 150);
  CHECK(static_cast<double>(dark_below_title) / area > 0.05);
  // A damaged manifest is a note in the report, which still renders.
  write_file(dir / "results/runs/2/gallery/gallery.json", "{");
  auto damaged = run({MOEXP_BIN, "report", "--db", db, "--format", "html", "--out", page.string()}, dir.path());
  REQUIRE(damaged.exit_code == 0);
  CHECK(read_file(page).find("gallery not shown: run 2: ") != std::string::npos);
}
