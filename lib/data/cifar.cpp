#include "data/readers.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

namespace moexp::data {

Dataset read_cifar(const std::vector<std::filesystem::path>& files, bool cifar100) {
  constexpr std::int64_t kPixels = 3 * 32 * 32;
  const std::int64_t label_bytes = cifar100 ? 2 : 1;
  const std::int64_t record = label_bytes + kPixels;
  std::vector<torch::Tensor> images, labels, coarse;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw DataError(fmt::format("{}: cannot open", path.string()));
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto size = static_cast<std::int64_t>(bytes.size());
    if (size == 0 || size % record != 0) {
      throw DataError(fmt::format("{}: truncated or not a CIFAR-{} binary file: {} bytes is not a whole number of "
                                  "{}-byte records",
                                  path.string(), cifar100 ? 100 : 10, size, record));
    }
    const std::int64_t n = size / record;
    auto raw = torch::from_blob(bytes.data(), {n, record}, torch::kUInt8).clone();
    auto fine = raw.select(1, label_bytes - 1).to(torch::kLong);
    const std::int64_t max_label = fine.max().item<std::int64_t>();
    if (max_label >= (cifar100 ? 100 : 10)) {
      throw DataError(fmt::format("{}: label {} out of range for CIFAR-{}", path.string(), max_label,
                                  cifar100 ? 100 : 10));
    }
    if (cifar100) {
      auto c = raw.select(1, 0).to(torch::kLong);
      if (c.max().item<std::int64_t>() >= 20) {
        throw DataError(fmt::format("{}: coarse label {} out of range (0..19)", path.string(),
                                    c.max().item<std::int64_t>()));
      }
      coarse.push_back(c);
    }
    labels.push_back(fine);
    images.push_back(raw.narrow(1, label_bytes, kPixels).reshape({n, 3, 32, 32}).contiguous());
  }
  Dataset ds;
  ds.images_nchw = torch::cat(images);
  ds.labels_n = torch::cat(labels);
  ds.coarse_n = cifar100 ? torch::cat(coarse) : torch::zeros_like(ds.labels_n);
  return ds;
}

} // namespace moexp::data
