// moexp report / runs through the real binary, and the HTML report rendered in a real headless browser.
#include "e2e/process.hpp"
#include "report/render.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

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

} // namespace

TEST_CASE("e2e report: the HTML page renders in headless Chromium with its table and plot") {
  const auto browser = chromium();
  if (browser.empty()) {
    MESSAGE("skipped: Chromium is not installed (make deps installs the Debian package chromium)");
    return;
  }
  TempDir dir;
  auto page = write_file(dir / "report.html", report::render_html(fixture_table(), "browser check"));
  const std::vector<std::string> flags{"--headless",      "--no-sandbox",  "--disable-gpu",
                                       "--disable-quic",  "--no-first-run", "--disable-background-networking",
                                       "--disable-component-update", "--disable-sync",
                                       "--user-data-dir=" + (dir / "profile").string(), "--window-size=900,700"};
  auto argv = std::vector<std::string>{browser};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto dom_argv = argv;
  dom_argv.push_back("--dump-dom");
  dom_argv.push_back("file://" + page.string());
  auto dom = run(dom_argv, dir.path());
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  CHECK(dom.out.find("<h1>browser check</h1>") != std::string::npos);
  CHECK(dom.out.find("<td>relative</td>") != std::string::npos);
  CHECK(dom.out.find("<polyline") != std::string::npos);
  auto shot_argv = argv;
  shot_argv.push_back("--screenshot=" + (dir / "shot.png").string());
  shot_argv.push_back("file://" + page.string());
  auto shot = run(shot_argv, dir.path());
  REQUIRE(shot.exit_code == 0);
  REQUIRE(std::filesystem::exists(dir / "shot.png"));
  // A blank 900x700 page compresses to a few kilobytes; text, table and plot make it much larger.
  CHECK(std::filesystem::file_size(dir / "shot.png") > 12000);
  std::filesystem::copy_file(dir / "shot.png", std::filesystem::temp_directory_path() / "moexp-report-shot.png",
                             std::filesystem::copy_options::overwrite_existing);
}
