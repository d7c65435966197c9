#include "coco/image_decode.hpp"
#include "coco/shapes.hpp"

#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <jpeglib.h>
#include <cstdio>

using namespace moexp;
using namespace moexp::coco;

namespace {

// A w x h gradient as a JPEG at quality 95, written with libjpeg: the decoder's input.
std::string gradient_jpeg(int w, int h) {
  jpeg_compress_struct info{};
  jpeg_error_mgr error{};
  info.err = jpeg_std_error(&error);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(w);
  info.image_height = static_cast<JDIMENSION>(h);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row(static_cast<std::size_t>(w) * 3);
  while (info.next_scanline < info.image_height) {
    for (int x = 0; x < w; ++x) {
      row[static_cast<std::size_t>(x) * 3] = static_cast<unsigned char>(x * 255 / w);
      row[static_cast<std::size_t>(x) * 3 + 1] =
          static_cast<unsigned char>(info.next_scanline * 255 / info.image_height);
      row[static_cast<std::size_t>(x) * 3 + 2] = 128;
    }
    JSAMPROW p = row.data();
    jpeg_write_scanlines(&info, &p, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

// A one-image shapes set under `dir` (dir/s/train/000001.png, 160 x 160).
void one_shapes_image(const test::TempDir& dir) {
  ShapesOptions o;
  o.out = dir / "s";
  o.train = 1;
  o.val = 0;
  o.size = 160;
  generate_shapes(o);
}

}  // namespace

TEST_CASE("coco image decode: PNG and JPEG by their signature, into RGB of the right size") {
  test::TempDir dir;
  one_shapes_image(dir);
  const auto png = decode_image(dir / "s/train/000001.png");
  CHECK(png.width == 160);
  CHECK(png.height == 160);
  CHECK(png.rgb.size() == 160u * 160 * 3);
  const auto jpeg_bytes = gradient_jpeg(64, 48);
  const auto jpeg = decode_image(test::write_file(dir / "named.png", jpeg_bytes));  // the name does not matter
  REQUIRE(jpeg.width == 64);
  REQUIRE(jpeg.height == 48);
  // Lossy, but close to the gradient: pixel (32, 24) is about (127, 127, 128).
  const std::size_t at = (24 * 64 + 32) * 3;
  CHECK(std::abs(jpeg.rgb[at] - 127) < 8);
  CHECK(std::abs(jpeg.rgb[at + 1] - 127) < 8);
  CHECK(std::abs(jpeg.rgb[at + 2] - 128) < 8);
}

TEST_CASE("coco image decode: a missing, foreign, truncated or corrupt file is a DataError naming it") {
  test::TempDir dir;
  CHECK(test::message_of<DataError>([&] { decode_image(dir / "none.jpg"); }).find("none.jpg: cannot read") !=
        std::string::npos);
  const auto text = test::write_file(dir / "a.jpg", "hello, not an image");
  CHECK(test::message_of<DataError>([&] { decode_image(text); }).find("a.jpg: not a JPEG or PNG image") !=
        std::string::npos);
  const auto jpeg = gradient_jpeg(64, 48);
  const auto cut = test::write_file(dir / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  CHECK(test::message_of<DataError>([&] { decode_image(cut); }).find("cut.jpg: cannot decode the JPEG") !=
        std::string::npos);
  one_shapes_image(dir);
  const auto png = test::read_file(dir / "s/train/000001.png");
  const auto cut_png = test::write_file(dir / "cut.png", png.substr(0, png.size() / 2));
  CHECK(test::message_of<DataError>([&] { decode_image(cut_png); }).find("cut.png: cannot decode the PNG") !=
        std::string::npos);
}
