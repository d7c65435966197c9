#include "data/readers.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <vector>

namespace moexp::data {
namespace {

// Whole file contents; zlib reads gzip and plain files alike.
std::vector<std::uint8_t> read_all(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw DataError(fmt::format("{}: cannot open", path.string()));
  }
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[1 << 16];
  while (true) {
    int n = gzread(f, buffer, sizeof buffer);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw DataError(fmt::format("{}: corrupt or truncated compressed data ({})", path.string(), msg));
    }
    if (n == 0) {
      break;
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  gzclose(f);
  return bytes;
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t(b[at]) << 24) | (std::uint32_t(b[at + 1]) << 16) | (std::uint32_t(b[at + 2]) << 8) |
         std::uint32_t(b[at + 3]);
}

// Parse an IDX header of `dims` dimensions with type ubyte; returns the dimension sizes.
std::vector<std::int64_t> idx_header(const std::vector<std::uint8_t>& bytes, int dims,
                                     const std::filesystem::path& path) {
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() < header) {
    throw DataError(fmt::format("{}: truncated: {} bytes, shorter than the IDX header", path.string(), bytes.size()));
  }
  const std::uint32_t magic = be32(bytes, 0);
  const std::uint32_t expected = 0x800u | static_cast<std::uint32_t>(dims);
  if (magic != expected) {
    throw DataError(fmt::format("{}: not an IDX file of {} dimension(s) with unsigned bytes (magic 0x{:08x}, "
                                "expected 0x{:08x})",
                                path.string(), dims, magic, expected));
  }
  std::vector<std::int64_t> sizes;
  std::int64_t total = 1;
  for (int d = 0; d < dims; ++d) {
    sizes.push_back(be32(bytes, 4 + 4 * static_cast<std::size_t>(d)));
    total *= sizes.back();
  }
  if (static_cast<std::int64_t>(bytes.size() - header) < total) {
    throw DataError(fmt::format("{}: truncated: expected {} bytes of data, found {}", path.string(), total,
                                bytes.size() - header));
  }
  return sizes;
}

} // namespace

Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels) {
  auto image_bytes = read_all(images);
  auto image_dims = idx_header(image_bytes, 3, images);
  auto label_bytes = read_all(labels);
  auto label_dims = idx_header(label_bytes, 1, labels);
  if (image_dims[0] != label_dims[0]) {
    throw DataError(fmt::format("{}: {} labels for {} images in {}", labels.string(), label_dims[0], image_dims[0],
                                images.string()));
  }
  const std::int64_t n = image_dims[0], h = image_dims[1], w = image_dims[2];
  Dataset ds;
  ds.images_nchw = torch::from_blob(image_bytes.data() + 16, {n, 1, h, w}, torch::kUInt8).clone();
  ds.labels_n = torch::from_blob(label_bytes.data() + 8, {n}, torch::kUInt8).to(torch::kLong);
  ds.coarse_n = torch::zeros({n}, torch::kLong);
  return ds;
}

} // namespace moexp::data
