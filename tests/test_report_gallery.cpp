#include "report/gallery.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

using namespace moexp;
using namespace moexp::report;

namespace {

// 30 samples x 3 experts, planted: sample i goes to expert i % 3 with weight 0.5 + i / 100, the rest shared.
std::vector<float> planted_weights() {
  std::vector<float> w;
  for (int i = 0; i < 30; ++i) {
    const float own = 0.5F + static_cast<float>(i) / 100.0F;
    for (int e = 0; e < 3; ++e) {
      w.push_back(e == i % 3 ? own : (1.0F - own) / 2.0F);
    }
  }
  return w;
}

}  // namespace

TEST_CASE("gallery: each expert's top images are the planted ones, largest weight first") {
  const auto choice = choose_gallery(planted_weights(), 3, 4, 7);
  REQUIRE(choice.top.size() == 3);
  CHECK(choice.top[0] == std::vector<std::int64_t>{27, 24, 21, 18});
  CHECK(choice.top[1] == std::vector<std::int64_t>{28, 25, 22, 19});
  CHECK(choice.top[2] == std::vector<std::int64_t>{29, 26, 23, 20});
}

TEST_CASE("gallery: ties go to the lower index, and a split smaller than N gives all of it") {
  const std::vector<float> flat(5 * 2, 0.5F);
  const auto choice = choose_gallery(flat, 2, 8, 1);
  CHECK(choice.top[0] == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  CHECK(choice.control.size() == 5);
  CHECK(std::set<std::int64_t>(choice.control.begin(), choice.control.end()).size() == 5);
  CHECK_THROWS_AS(choose_gallery({0.5F, 0.5F, 0.5F}, 2, 1, 1), std::invalid_argument);
}

TEST_CASE("gallery: the control is distinct random samples, the same for a seed and different for another") {
  const auto a = choose_gallery(planted_weights(), 3, 10, 7);
  const auto b = choose_gallery(planted_weights(), 3, 10, 7);
  const auto c = choose_gallery(planted_weights(), 3, 10, 8);
  CHECK(a.control == b.control);
  CHECK(a.control != c.control);
  CHECK(std::set<std::int64_t>(a.control.begin(), a.control.end()).size() == 10);
  CHECK(std::all_of(a.control.begin(), a.control.end(), [](auto i) { return i >= 0 && i < 30; }));
}

TEST_CASE("gallery: class histograms count each expert's top images by class") {
  const auto choice = choose_gallery(planted_weights(), 3, 4, 7);
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 30; ++i) {
    labels.push_back(i % 3 == 0 ? 0 : i % 2);  // expert 0's images are all class 0
  }
  const auto h = top_class_histograms(choice, labels, 2);
  CHECK(h[0] == std::vector<std::int64_t>{4, 0});
  CHECK(h[1] == std::vector<std::int64_t>{2, 2});
}

TEST_CASE("gallery: the page names files or embeds data URIs, with labels and the account of the choice as text") {
  GalleryPage page{
      .title = "run 3: <demo>", .how_chosen = "top 1 by gate weight; control seed 7", .class_names = {"sandal"}};
  GalleryImage image{.sample = 4, .png = "\x89PNG", .file = "l0_e0_top0.png", .label = "sandal & co", .weight = 0.75};
  page.layers.push_back(
      {.layer = 0, .position = 1, .experts = {{.top = {image}, .control = {image}, .histogram = {1}}}});
  const auto files = gallery_html(page, false);
  CHECK(files.find("src=\"l0_e0_top0.png\"") != std::string::npos);
  CHECK(files.find("sandal &amp; co") != std::string::npos);
  CHECK(files.find("run 3: &lt;demo&gt;") != std::string::npos);
  CHECK(files.find("top 1 by gate weight; control seed 7") != std::string::npos);
  CHECK(files.find("w 0.750") != std::string::npos);
  CHECK(files.find("<li>sandal × 1</li>") != std::string::npos);
  const auto inline_page = gallery_html(page, true);
  CHECK(inline_page.find("src=\"data:image/png;base64,iVBORw==\"") != std::string::npos);
  CHECK(inline_page.find("l0_e0_top0.png") == std::string::npos);
}
