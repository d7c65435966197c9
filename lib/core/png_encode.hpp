// PNG encoding in memory with libpng (Torch-free): thumbnails for galleries and the generated shapes images. Write
// the bytes with core::write_file_atomic, or embed them in HTML with core::base64.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::core {

// The PNG of a `width` x `height` image with `channels` 8-bit channels per pixel (1: grey, 3: RGB), `pixels` in
// row-major height x width x channels order. Throws std::invalid_argument when the sizes disagree or `channels` is
// neither 1 nor 3, std::runtime_error when libpng fails.
std::string encode_png(const std::vector<std::uint8_t>& pixels, int width, int height, int channels);

// `bytes` in standard base64 with padding (RFC 4648 §4): what a data URI carries. Hand-written: a dozen lines, where
// Debian's candidates (libb64, OpenSSL's EVP) would add a dependency for one loop.
std::string base64(std::string_view bytes);

}  // namespace moexp::core
