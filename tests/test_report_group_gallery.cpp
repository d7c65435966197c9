// report/gallery_manifest and report/group_gallery: a gallery's manifest round-trips, a bad one is a DataError naming
// the file, and the report's section puts each seed's matched expert under its aligned column.
#include "core/error.hpp"
#include "core/png_encode.hpp"
#include "report/gallery_manifest.hpp"
#include "report/group_gallery.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace moexp;
using namespace moexp::report;

namespace {

// A page of one MoE layer with `experts` experts, expert e's top image labelled "<tag> e<e>", PNG bytes "png<tag><e>".
GalleryPage page_of(const std::string& tag, int experts) {
  GalleryPage page;
  page.title = "run " + tag;
  page.how_chosen = "top 1 per expert \"quoted\"";
  GalleryLayer layer{.layer = 0, .position = 1, .experts = {}};
  for (int e = 0; e < experts; ++e) {
    GalleryExpert expert;
    expert.top.push_back({.sample = 10 + e,
                          .png = "png" + tag + std::to_string(e),
                          .file = "f.png",
                          .label = tag + " e" + std::to_string(e),
                          .weight = 0.5 + 0.1 * e});
    expert.control.push_back({.sample = 3, .png = "ctl" + tag, .file = "c.png", .label = "control", .weight = 0.2});
    layer.experts.push_back(std::move(expert));
  }
  page.layers.push_back(std::move(layer));
  return page;
}

}  // namespace

TEST_CASE("gallery manifest: round-trips a layer's top and control images, PNGs in base64") {
  test::TempDir dir;
  const auto path = test::write_file(dir / "gallery.json", gallery_manifest_json(page_of("a", 3)));
  const auto seed = read_gallery_manifest(path);
  CHECK(seed.how_chosen == "top 1 per expert \"quoted\"");
  REQUIRE(seed.top_by_expert.size() == 3);
  CHECK(seed.top_by_expert[2].at(0).sample == 12);
  CHECK(seed.top_by_expert[2].at(0).label == "a e2");
  CHECK(seed.top_by_expert[2].at(0).weight == doctest::Approx(0.7));
  CHECK(seed.top_by_expert[2].at(0).png_base64 == core::base64("pnga2"));
  REQUIRE(seed.control.size() == 1);
  CHECK(seed.control[0].label == "control");
  CHECK(seed.control[0].weight == 0);
}

TEST_CASE("gallery manifest: a missing, broken, foreign or layer-less manifest is a DataError naming the file") {
  test::TempDir dir;
  CHECK_THROWS_AS(read_gallery_manifest(dir / "none.json"), DataError);
  const auto broken = test::write_file(dir / "broken.json", "{\"format\": \"moexp-gallery/1\", \"layers\": [");
  CHECK_THROWS_WITH_AS(read_gallery_manifest(broken), doctest::Contains(broken.string().c_str()), DataError);
  const auto foreign = test::write_file(dir / "foreign.json", "{\"format\": \"other\"}");
  CHECK_THROWS_WITH_AS(read_gallery_manifest(foreign),
                       doctest::Contains("not a moexp-gallery/1 or moexp-detection-gallery/1 manifest"), DataError);
  const auto ok = test::write_file(dir / "ok.json", gallery_manifest_json(page_of("a", 2)));
  CHECK_THROWS_WITH_AS(read_gallery_manifest(ok, 1), doctest::Contains("no MoE layer 1"), DataError);
}

TEST_CASE("group gallery: each seed's matched expert sits under its aligned column, and seeds without one say so") {
  test::TempDir dir;
  const auto db = dir / "moexp.db";
  // Runs 5 and 6 have galleries, run 7 none; run 6's experts are aligned in the order (1, 0).
  test::write_file(run_gallery_folder(db, 5) / kGalleryManifest, gallery_manifest_json(page_of("a", 2)));
  test::write_file(run_gallery_folder(db, 6) / kGalleryManifest, gallery_manifest_json(page_of("b", 2)));
  GroupFigures g;
  g.caption = "importance: 3 seeds";
  g.run_ids = {5, 6, 7};
  g.seeds = {"0", "1", "2"};
  g.alignment.expert_of = {{0, 1}, {1, 0}, {0, 1}};
  GroupFigures without;
  without.run_ids = {8};
  const auto galleries = load_group_galleries(db, {g, without});
  REQUIRE(galleries.size() == 1);  // the second group has no gallery
  REQUIRE(galleries[0].seeds.size() == 3);
  CHECK(galleries[0].seeds[0].has_value());
  CHECK_FALSE(galleries[0].seeds[2].has_value());
  const auto html = group_galleries_html({g, without}, galleries);
  // Row of seed 1: column e0 holds its expert 1 ("b e1"), column e1 its expert 0.
  const auto row = html.substr(html.find("<td>1 (run 6)</td>"));
  CHECK(row.find("b e1") < row.find("b e0"));
  CHECK(html.find("<td>0 (run 5)</td>") < html.find("a e0"));
  CHECK(html.find("a e0") < html.find("a e1"));
  CHECK(html.find("no gallery") != std::string::npos);
  CHECK(html.find("data:image/png;base64," + core::base64("pngb1")) != std::string::npos);
  // A damaged manifest is a note on the page, not a failed report.
  test::write_file(run_gallery_folder(db, 6) / kGalleryManifest, "{");
  const auto damaged = load_group_galleries(db, {g});
  REQUIRE(damaged.size() == 1);
  REQUIRE(damaged[0].problems.size() == 1);
  CHECK(damaged[0].problems[0].rfind("run 6: ", 0) == 0);
  CHECK(group_galleries_html({g}, damaged).find("gallery not shown: run 6: ") != std::string::npos);
  CHECK(group_galleries_html({g}, {}).empty());
}

TEST_CASE("gallery manifest: a detection gallery's histograms round-trip, and the report lines them up by expert") {
  test::TempDir dir;
  DetectionGalleryPage page;
  page.how_chosen = "12 images";
  page.experts = 2;
  page.levels = 2;
  const auto counts = [](std::int64_t small, std::int64_t large) {
    return ExpertObjects{.tokens = small + large,
                         .sizes = {small, 0, large},
                         .levels = {small, large},
                         .log_sizes = std::vector<std::int64_t>(kLogSizeBins, 0)};
  };
  page.heads.push_back({.name = "box_head", .images = {}, .experts = {counts(7, 1), counts(0, 9)}});
  const auto db = dir / "moexp.db";
  test::write_file(run_gallery_folder(db, 3) / kGalleryManifest, detection_gallery_manifest_json(page));
  const auto seed = read_gallery_manifest(run_gallery_folder(db, 3) / kGalleryManifest);
  CHECK(seed.head == "box_head");
  CHECK(seed.top_by_expert.empty());
  REQUIRE(seed.objects_by_expert.size() == 2);
  CHECK(seed.objects_by_expert[1].tokens == 9);
  CHECK(seed.objects_by_expert[0].sizes == std::array<std::int64_t, 3>{7, 0, 1});
  CHECK(seed.objects_by_expert[1].levels == std::vector<std::int64_t>{0, 9});
  CHECK(seed.objects_by_expert[1].log_sizes.size() == static_cast<std::size_t>(kLogSizeBins));
  CHECK_THROWS_WITH_AS(read_gallery_manifest(run_gallery_folder(db, 3) / kGalleryManifest, 1),
                       doctest::Contains("no MoE head 1"), DataError);
  GroupFigures g;
  g.run_ids = {3};
  g.seeds = {"0"};
  g.alignment.expert_of = {{1, 0}};
  const auto html = group_galleries_html({g}, load_group_galleries(db, {g}));
  CHECK(html.find("box_head expert 1 — 9 (object, level) tokens") < html.find("box_head expert 0 — 8"));
  CHECK(html.find("<th>control</th>") == std::string::npos);
}
