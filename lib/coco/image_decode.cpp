#include "coco/image_decode.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace moexp::coco {
namespace {

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DataError(fmt::format("{}: cannot read the image (missing or unreadable)", path.string()));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// libjpeg reports errors through error_exit, which must not return: jump back to decode_jpeg with the message.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;  // libjpeg warned of a premature end of data (it would fill the rest with grey)
};

void jpeg_error_exit(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

// Warnings are not errors (real COCO has JPEGs with extraneous bytes that every decoder accepts), except a premature
// end of the data: the image would be part grey.
void jpeg_warning(j_common_ptr info, int level) {
  if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<JpegError*>(info->err)->truncated = true;
  }
}

DecodedImage decode_jpeg(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  jpeg_decompress_struct info{};
  JpegError error{};
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = jpeg_error_exit;
  error.manager.emit_message = jpeg_warning;
  DecodedImage image;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    throw DataError(fmt::format("{}: cannot decode the JPEG: {}", path.string(), error.message));
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  image.width = static_cast<int>(info.output_width);
  image.height = static_cast<int>(info.output_height);
  image.rgb.resize(static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = image.rgb.data() + static_cast<std::size_t>(info.output_scanline) * image.width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (error.truncated) {
    throw DataError(fmt::format("{}: cannot decode the JPEG: the data ends early (a truncated file)", path.string()));
  }
  return image;
}

DecodedImage decode_png(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    throw DataError(fmt::format("{}: cannot decode the PNG: {}", path.string(), png.message));
  }
  png.format = PNG_FORMAT_RGB;
  DecodedImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw DataError(fmt::format("{}: cannot decode the PNG: {}", path.string(), why));
  }
  return image;
}

}  // namespace

DecodedImage decode_image(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  static constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::equal(kPngSignature, kPngSignature + 8, bytes.begin())) {
    return decode_png(path, bytes);
  }
  if (bytes.size() >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
    return decode_jpeg(path, bytes);
  }
  throw DataError(fmt::format("{}: not a JPEG or PNG image", path.string()));
}

}  // namespace moexp::coco
