#include "data/readers.hpp"

#include "core/error.hpp"
#include "data/formats.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <iterator>

namespace moexp::data {

Dataset read_cifar(const std::vector<std::filesystem::path>& files, bool cifar100) {
  std::vector<torch::Tensor> images, labels, coarse;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw DataError(fmt::format("{}: cannot open", path.string()));
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto layout = parse_cifar(bytes, cifar100, path);
    const std::int64_t n = layout.records, record = layout.record_size();
    auto raw = torch::from_blob(bytes.data(), {n, record}, torch::kUInt8).clone();
    if (cifar100) {
      coarse.push_back(raw.select(1, 0).to(torch::kLong));
    }
    labels.push_back(raw.select(1, layout.label_bytes - 1).to(torch::kLong));
    images.push_back(raw.narrow(1, layout.label_bytes, CifarLayout::kPixels).reshape({n, 3, 32, 32}).contiguous());
  }
  Dataset ds;
  ds.images_nchw = torch::cat(images);
  ds.labels_n = torch::cat(labels);
  ds.coarse_n = cifar100 ? torch::cat(coarse) : torch::zeros_like(ds.labels_n);
  return ds;
}

}  // namespace moexp::data
