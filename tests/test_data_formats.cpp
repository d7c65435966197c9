// data/formats: the Torch-free checks every IDX and CIFAR file passes before a tensor is built.
#include "core/error.hpp"
#include "data/formats.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace moexp;
using namespace moexp::data;

namespace {

void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) {
    b.push_back(static_cast<std::uint8_t>((v >> shift) & 0xff));
  }
}

std::vector<std::uint8_t> idx3(std::uint32_t n, std::uint32_t h, std::uint32_t w, std::size_t data_bytes) {
  std::vector<std::uint8_t> b;
  put_be32(b, 0x803);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  b.resize(b.size() + data_bytes, 7);
  return b;
}

std::string error_of(const std::function<void()>& fn) {
  return test::message_of<DataError>(fn);
}

}  // namespace

TEST_CASE("data formats: a well-formed IDX header gives its sizes and data offset") {
  auto layout = parse_idx(idx3(3, 4, 5, 60), 3, "img");
  CHECK(layout.sizes == std::vector<std::int64_t>{3, 4, 5});
  CHECK(layout.data_offset == 16);
}

TEST_CASE("data formats: IDX dimensions whose product overflows are refused before any allocation") {
  // 0xffffffff^3 overflows int64; the old check multiplied blindly, passed, and allocated 4.6 GB. Sides are bounded
  // first (so with 3 dimensions the checked product cannot overflow at all).
  CHECK(error_of([] {
          parse_idx(idx3(0xffffffffu, 0xffffffffu, 0xffffffffu, 100), 3, "img");
        }).find("img: image side 4294967295 is implausible (at most 4096)") == 0);
  CHECK(error_of([] {
          parse_idx(idx3(0x7fffffffu, 4096, 4096, 100), 3, "img");
        }).find("img: truncated: the header (2147483647x4096x4096) needs") == 0);
}

TEST_CASE("data formats: empty and implausible IDX dimensions are refused") {
  CHECK(error_of([] { parse_idx(idx3(5, 0, 0, 0), 3, "img"); }).find("img: dimension 1 is 0") == 0);
  CHECK(error_of([] { parse_idx(idx3(0, 28, 28, 0), 3, "img"); }).find("img: dimension 0 is 0") == 0);
  CHECK(error_of([] { parse_idx(idx3(1, 100000, 1, 100000), 3, "img"); }).find("image side 100000 is implausible") !=
        std::string::npos);
}

TEST_CASE("data formats: labels must be below the class count") {
  const std::vector<std::uint8_t> labels{0, 9, 3, 10, 2};
  CHECK(error_of([&] { check_labels(labels, 10, "lab"); }) == "lab: label 10 of item 3 is out of range (0..9)");
  CHECK(error_of([&] { check_labels(std::span(labels).first(3), 10, "lab"); }).empty());
}

TEST_CASE("data formats: CIFAR records, labels and coarse labels are checked") {
  std::vector<std::uint8_t> two(2 * 3073, 0);
  CHECK(parse_cifar(two, false, "b").records == 2);
  two[3073] = 10;
  CHECK(error_of([&] { parse_cifar(two, false, "b"); }) == "b: label 10 of record 1 out of range for CIFAR-10");
  std::vector<std::uint8_t> hundred(3074, 0);
  hundred[0] = 20;
  CHECK(error_of([&] { parse_cifar(hundred, true, "c"); }) == "c: coarse label 20 of record 0 out of range (0..19)");
  CHECK(error_of([] { parse_cifar({}, false, "e"); }).find("not a whole number of 3073-byte records") !=
        std::string::npos);
}

TEST_CASE("data formats: train and test must share one image shape") {
  CHECK(error_of([] {
          check_same_image_shape({1, 28, 28}, {1, 32, 32}, "train-img", "test-img");
        }) ==
        "test-img: test images are 1x32x32 but the training images in train-img are 1x28x28; both splits must have "
        "one image shape");
  CHECK(error_of([] { check_same_image_shape({1, 28, 28}, {1, 28, 28}, "a", "b"); }).empty());
}
