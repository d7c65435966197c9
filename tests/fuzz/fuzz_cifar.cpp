// Fuzz target: the CIFAR binary reader. Input: one byte choosing CIFAR-10 or CIFAR-100, then the batch's bytes.
// Checks: only one-line InputErrors, and an accepted layout covers exactly the bytes given.
#include "data/formats.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <span>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool cifar100 = (data[0] & 1) != 0;
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  moexp::fuzz::expect_clean([&] {
    const auto layout = moexp::data::parse_cifar(bytes, cifar100, "fuzz.bin");
    if (layout.records <= 0 || static_cast<std::size_t>(layout.records * layout.record_size()) != bytes.size() ||
        layout.label_bytes != (cifar100 ? 2 : 1)) {
      moexp::fuzz::finding("an accepted CIFAR layout does not match its bytes", std::to_string(layout.records));
    }
  });
  return 0;
}
