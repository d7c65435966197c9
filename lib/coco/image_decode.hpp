// Decoding the images of a COCO-format dataset: JPEG with libjpeg-turbo, PNG with libpng, chosen by the file's
// signature (not its name), into 8-bit RGB. Torch-free; thread-safe (no shared state), so loader workers call it
// in parallel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace moexp::coco {

struct DecodedImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // height x width x 3, row-major
};

// Decode `path`. DataError naming the file for a file that is missing, not a JPEG or PNG, or cannot be decoded
// (truncated, corrupt). Grey and palette images become RGB; an alpha channel is dropped.
DecodedImage decode_image(const std::filesystem::path& path);

}  // namespace moexp::coco
