#include "coco/image_decode.hpp"
#include "core/atomic_file.hpp"
#include "core/png_encode.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace moexp;

TEST_CASE("png encode: RGB and grey images decode to the same pixels and sizes") {
  test::TempDir dir;
  std::vector<std::uint8_t> rgb;
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      rgb.insert(rgb.end(), {static_cast<std::uint8_t>(50 * x), static_cast<std::uint8_t>(80 * y), 7});
    }
  }
  core::write_file_atomic(dir / "rgb.png", core::encode_png(rgb, 5, 3, 3));
  const auto back = coco::decode_image(dir / "rgb.png");
  CHECK(back.width == 5);
  CHECK(back.height == 3);
  CHECK(back.rgb == rgb);

  const std::vector<std::uint8_t> grey{0, 64, 128, 255};
  core::write_file_atomic(dir / "grey.png", core::encode_png(grey, 2, 2, 1));
  const auto g = coco::decode_image(dir / "grey.png");
  REQUIRE(g.rgb.size() == 12);
  CHECK(g.rgb[9] == 255);  // grey becomes RGB: the last pixel's three channels
  CHECK(g.rgb[10] == 255);
  CHECK(g.rgb[3] == 64);
}

TEST_CASE("png encode: sizes that disagree with the pixels are refused") {
  CHECK_THROWS_AS(core::encode_png({1, 2, 3}, 2, 2, 1), std::invalid_argument);
  CHECK_THROWS_AS(core::encode_png({1, 2, 3, 4}, 2, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(core::encode_png({}, 0, 0, 3), std::invalid_argument);
}

TEST_CASE("png encode: base64 matches RFC 4648's test vectors") {
  CHECK(core::base64("") == "");
  CHECK(core::base64("f") == "Zg==");
  CHECK(core::base64("fo") == "Zm8=");
  CHECK(core::base64("foo") == "Zm9v");
  CHECK(core::base64("foob") == "Zm9vYg==");
  CHECK(core::base64("fooba") == "Zm9vYmE=");
  CHECK(core::base64("foobar") == "Zm9vYmFy");
  CHECK(core::base64(std::string("\xff\x00\x80", 3)) == "/wCA");
}
