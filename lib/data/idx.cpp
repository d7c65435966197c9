#include "data/readers.hpp"

#include "core/error.hpp"
#include "data/formats.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cstdint>
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
  constexpr std::size_t kMaxBytes = std::size_t{4} << 30;  // 85x Fashion-MNIST's train images; a gzip bomb stops here
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
    if (bytes.size() > kMaxBytes) {
      gzclose(f);
      throw DataError(
          fmt::format("{}: larger than {} GiB once decompressed; not an IDX dataset", path.string(), kMaxBytes >> 30));
    }
  }
  gzclose(f);
  return bytes;
}

}  // namespace

Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, std::int64_t num_classes) {
  auto image_bytes = read_all(images);
  const auto image_layout = parse_idx(image_bytes, 3, images);
  auto label_bytes = read_all(labels);
  const auto label_layout = parse_idx(label_bytes, 1, labels);
  if (image_layout.count() != label_layout.count()) {
    throw DataError(fmt::format("{}: {} labels for {} images in {}", labels.string(), label_layout.count(),
                                image_layout.count(), images.string()));
  }
  const std::int64_t n = image_layout.count(), h = image_layout.sizes[1], w = image_layout.sizes[2];
  check_labels(std::span(label_bytes).subspan(label_layout.data_offset, static_cast<std::size_t>(n)), num_classes,
               labels);
  Dataset ds;
  ds.images_nchw = torch::from_blob(image_bytes.data() + image_layout.data_offset, {n, 1, h, w}, torch::kUInt8).clone();
  ds.labels_n = torch::from_blob(label_bytes.data() + label_layout.data_offset, {n}, torch::kUInt8).to(torch::kLong);
  ds.coarse_n = torch::zeros({n}, torch::kLong);
  return ds;
}

}  // namespace moexp::data
