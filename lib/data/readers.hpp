// Readers for the on-disk formats: IDX (MNIST, Fashion-MNIST; plain or gzip), CIFAR-10/100 binary, and the
// deterministic synthetic set. All return uint8 images in NCHW.
#pragma once

#include "data/dataset.hpp"

#include <cstdint>
#include <filesystem>

namespace moexp::data {

// Read an IDX image file (magic 0x803) and label file (magic 0x801), plain or gzip. Throws DataError naming the file
// when it is truncated, malformed (formats.hpp: parse_idx), the counts differ or a label is not below `num_classes`.
Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, std::int64_t num_classes);

// Read CIFAR binary batch files: records of 1 label byte + 3072 pixels (CIFAR-10) or coarse + fine label bytes +
// 3072 pixels (CIFAR-100). Throws DataError naming the file on a size that is not a whole number of records or an
// out-of-range label.
Dataset read_cifar(const std::vector<std::filesystem::path>& files, bool cifar100);

// A deterministic synthetic classification set: each class is a smooth random template; samples are shifted,
// noisy copies. Same arguments, same bytes. `split_seed` separates train from test.
Dataset make_synthetic(std::int64_t samples, std::int64_t classes, std::int64_t channels, std::int64_t image_size,
                       std::uint64_t split_seed);

}  // namespace moexp::data
