// The on-disk dataset formats checked without Torch (so the checks are fuzzed and unit-tested in the Torch-free
// suite): IDX headers (MNIST, Fashion-MNIST) and CIFAR binary records. The Torch readers (readers.hpp) build
// tensors only from a layout these functions accepted, so no file can make them allocate or index out of bounds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace moexp::data {

// Largest image side any reader accepts (a wrong file, not a dataset, beyond this).
inline constexpr std::int64_t kMaxImageSide = 4096;

// An IDX file of unsigned bytes: its dimension sizes and where the data starts.
struct IdxLayout {
  std::vector<std::int64_t> sizes;  // e.g. {N, H, W} for images, {N} for labels
  std::size_t data_offset = 0;      // bytes of header before the data
  std::int64_t count() const { return sizes.front(); }
};

// Check `bytes` as an IDX file of `dims` dimensions of unsigned bytes: magic, at least one item, image sides in
// 1..kMaxImageSide, a size product without overflow, and enough data for it. Throws DataError naming `path`.
IdxLayout parse_idx(std::span<const std::uint8_t> bytes, int dims, const std::filesystem::path& path);

// Check that every label in `labels` (an IDX label file's data) is below `num_classes`. Throws DataError naming
// `path` and the first offending item.
void check_labels(std::span<const std::uint8_t> labels, std::int64_t num_classes, const std::filesystem::path& path);

// A CIFAR binary batch: records of `label_bytes` label bytes (1: CIFAR-10; 2: CIFAR-100 coarse + fine) and 3×32×32
// pixels.
struct CifarLayout {
  std::int64_t records = 0;
  std::int64_t label_bytes = 1;
  static constexpr std::int64_t kPixels = 3 * 32 * 32;
  std::int64_t record_size() const { return label_bytes + kPixels; }
};

// Check `bytes` as a CIFAR-10 or CIFAR-100 batch: a non-zero whole number of records, fine labels below 10 / 100,
// coarse labels below 20. Throws DataError naming `path` (and the record of a bad label).
CifarLayout parse_cifar(std::span<const std::uint8_t> bytes, bool cifar100, const std::filesystem::path& path);

// Check that the train and test images have the same per-sample shape (C, H, W): a model is built for one.
void check_same_image_shape(const std::vector<std::int64_t>& train_chw, const std::vector<std::int64_t>& test_chw,
                            const std::filesystem::path& train_file, const std::filesystem::path& test_file);

}  // namespace moexp::data
