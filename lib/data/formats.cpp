#include "data/formats.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>

namespace moexp::data {
namespace {

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t(b[at]) << 24) | (std::uint32_t(b[at + 1]) << 16) | (std::uint32_t(b[at + 2]) << 8) |
         std::uint32_t(b[at + 3]);
}

}  // namespace

IdxLayout parse_idx(std::span<const std::uint8_t> bytes, int dims, const std::filesystem::path& path) {
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() < header) {
    throw DataError(fmt::format("{}: truncated: {} bytes, shorter than the IDX header", path.string(), bytes.size()));
  }
  const std::uint32_t magic = be32(bytes, 0);
  const std::uint32_t expected = 0x800u | static_cast<std::uint32_t>(dims);
  if (magic != expected) {
    throw DataError(
        fmt::format("{}: not an IDX file of {} dimension(s) with unsigned bytes (magic 0x{:08x}, "
                    "expected 0x{:08x})",
                    path.string(), dims, magic, expected));
  }
  IdxLayout layout;
  layout.data_offset = header;
  std::int64_t total = 1;
  for (int d = 0; d < dims; ++d) {
    const std::int64_t size = be32(bytes, 4 + 4 * static_cast<std::size_t>(d));
    if (size == 0) {
      throw DataError(fmt::format("{}: dimension {} is 0; an IDX dataset needs at least one item of at least 1 pixel",
                                  path.string(), d));
    }
    if (d > 0 && size > kMaxImageSide) {
      throw DataError(fmt::format("{}: image side {} is implausible (at most {})", path.string(), size, kMaxImageSide));
    }
    if (__builtin_mul_overflow(total, size, &total)) {
      throw DataError(fmt::format("{}: the dimensions {} overflow; not an IDX dataset", path.string(), size));
    }
    layout.sizes.push_back(size);
  }
  if (bytes.size() - header < static_cast<std::uint64_t>(total)) {
    throw DataError(fmt::format("{}: truncated: the header ({}) needs {} bytes of data, found {}", path.string(),
                                fmt::join(layout.sizes, "x"), total, bytes.size() - header));
  }
  return layout;
}

void check_labels(std::span<const std::uint8_t> labels, std::int64_t num_classes, const std::filesystem::path& path) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      throw DataError(
          fmt::format("{}: label {} of item {} is out of range (0..{})", path.string(), labels[i], i, num_classes - 1));
    }
  }
}

CifarLayout parse_cifar(std::span<const std::uint8_t> bytes, bool cifar100, const std::filesystem::path& path) {
  CifarLayout layout;
  layout.label_bytes = cifar100 ? 2 : 1;
  const auto record = static_cast<std::size_t>(layout.record_size());
  if (bytes.empty() || bytes.size() % record != 0) {
    throw DataError(
        fmt::format("{}: truncated or not a CIFAR-{} binary file: {} bytes is not a whole number of "
                    "{}-byte records",
                    path.string(), cifar100 ? 100 : 10, bytes.size(), record));
  }
  layout.records = static_cast<std::int64_t>(bytes.size() / record);
  const int classes = cifar100 ? 100 : 10;
  for (std::size_t r = 0; r < static_cast<std::size_t>(layout.records); ++r) {
    const std::uint8_t fine = bytes[r * record + static_cast<std::size_t>(layout.label_bytes) - 1];
    if (fine >= classes) {
      throw DataError(
          fmt::format("{}: label {} of record {} out of range for CIFAR-{}", path.string(), fine, r, classes));
    }
    if (cifar100 && bytes[r * record] >= 20) {
      throw DataError(
          fmt::format("{}: coarse label {} of record {} out of range (0..19)", path.string(), bytes[r * record], r));
    }
  }
  return layout;
}

void check_same_image_shape(const std::vector<std::int64_t>& train_chw, const std::vector<std::int64_t>& test_chw,
                            const std::filesystem::path& train_file, const std::filesystem::path& test_file) {
  if (train_chw != test_chw) {
    throw DataError(
        fmt::format("{}: test images are {} but the training images in {} are {}; both splits must have "
                    "one image shape",
                    test_file.string(), fmt::join(test_chw, "x"), train_file.string(), fmt::join(train_chw, "x")));
  }
}

}  // namespace moexp::data
