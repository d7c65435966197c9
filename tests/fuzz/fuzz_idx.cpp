// Fuzz target: the IDX reader (MNIST / Fashion-MNIST files). Input: one byte choosing the dimension count (1 for
// labels, 3 for images) and the label check's class count, then the file's bytes. Checks: only one-line
// InputErrors, and an accepted layout lies inside the bytes it describes.
#include "data/formats.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const int dims = (data[0] & 1) != 0 ? 3 : 1;
  const std::int64_t num_classes = 1 + (data[0] >> 1);
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  moexp::fuzz::expect_clean([&] {
    const auto layout = moexp::data::parse_idx(bytes, dims, "fuzz.idx");
    std::uint64_t count = 1;
    for (auto d : layout.sizes) {
      count *= static_cast<std::uint64_t>(d);
    }
    if (layout.sizes.size() != static_cast<std::size_t>(dims) || layout.data_offset > bytes.size() ||
        count > bytes.size() - layout.data_offset) {
      moexp::fuzz::finding("an accepted IDX layout does not match its bytes", std::to_string(count));
    }
    if (dims == 1) {
      moexp::data::check_labels(bytes.subspan(layout.data_offset, count), num_classes, "fuzz.idx");
    }
  });
  return 0;
}
