#include "config/experiment.hpp"
#include "core/error.hpp"
#include "data/batches.hpp"
#include "data/dataset.hpp"
#include "data/readers.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>

using namespace moexp;
using namespace moexp::data;

namespace {

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

// IDX images: n images of r x c with pixel value (i + y + x) % 256; labels i % 10.
std::string idx_images(std::uint32_t n, std::uint32_t r, std::uint32_t c) {
  std::string s = be32(0x803) + be32(n) + be32(r) + be32(c);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t y = 0; y < r; ++y)
      for (std::uint32_t x = 0; x < c; ++x)
        s.push_back(char((i + y + x) % 256));
  return s;
}

std::string idx_labels(std::uint32_t n) {
  std::string s = be32(0x801) + be32(n);
  for (std::uint32_t i = 0; i < n; ++i)
    s.push_back(char(i % 10));
  return s;
}

void write_gz(const std::filesystem::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// A CIFAR record file: n records, label i % classes (CIFAR-100: coarse (i % classes) / 5 first).
std::string cifar_records(int n, bool cifar100) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (cifar100)
      s.push_back(char((i % 100) / 5));
    s.push_back(char(i % (cifar100 ? 100 : 10)));
    for (int p = 0; p < 3072; ++p)
      s.push_back(char((p / 1024) * 10 + i));
  }
  return s;
}

std::string error_of(const std::function<void()>& fn) {
  return test::message_of<DataError>(fn);
}

}  // namespace

TEST_CASE("data: IDX files are read plain and gzip-compressed") {
  test::TempDir dir;
  test::write_file(dir / "a-images", idx_images(5, 4, 3));
  test::write_file(dir / "a-labels", idx_labels(5));
  write_gz(dir / "b-images.gz", idx_images(5, 4, 3));
  write_gz(dir / "b-labels.gz", idx_labels(5));
  auto plain = read_idx(dir / "a-images", dir / "a-labels", 10);
  auto gz = read_idx(dir / "b-images.gz", dir / "b-labels.gz", 10);
  CHECK(plain.images_nchw.sizes() == std::vector<std::int64_t>{5, 1, 4, 3});
  CHECK(plain.images_nchw.dtype() == torch::kUInt8);
  CHECK(plain.images_nchw[2][0][1][2].item<int>() == 5);
  CHECK(plain.labels_n[3].item<std::int64_t>() == 3);
  CHECK(torch::equal(plain.images_nchw, gz.images_nchw));
  CHECK(torch::equal(plain.labels_n, gz.labels_n));
}

TEST_CASE("data: truncated or malformed IDX files give a clear DataError") {
  test::TempDir dir;
  auto images = idx_images(5, 4, 3);
  test::write_file(dir / "short-images", images.substr(0, images.size() - 7));
  test::write_file(dir / "labels", idx_labels(5));
  CHECK(error_of([&] {
          read_idx(dir / "short-images", dir / "labels", 10);
        }).find("short-images: truncated: the header (5x4x3) needs 60 bytes of data, found 53") != std::string::npos);
  test::write_file(dir / "tiny", "abc");
  CHECK(error_of([&] { read_idx(dir / "tiny", dir / "labels", 10); }).find("shorter than the IDX header") !=
        std::string::npos);
  test::write_file(dir / "swapped", idx_labels(20));
  CHECK(error_of([&] { read_idx(dir / "swapped", dir / "labels", 10); }).find("not an IDX file of 3 dimension(s)") !=
        std::string::npos);
  test::write_file(dir / "images", images);
  test::write_file(dir / "few-labels", idx_labels(4));
  CHECK(error_of([&] { read_idx(dir / "images", dir / "few-labels", 10); }).find("4 labels for 5 images") !=
        std::string::npos);
  write_gz(dir / "cut.gz", images);
  auto compressed = test::read_file(dir / "cut.gz");
  test::write_file(dir / "cut.gz", compressed.substr(0, compressed.size() / 2));
  CHECK_FALSE(error_of([&] { read_idx(dir / "cut.gz", dir / "labels", 10); }).empty());
}

TEST_CASE("data: CIFAR-10 and CIFAR-100 binary batches, with coarse labels") {
  test::TempDir dir;
  test::write_file(dir / "c10.bin", cifar_records(7, false));
  auto c10 = read_cifar({dir / "c10.bin", dir / "c10.bin"}, false);
  CHECK(c10.images_nchw.sizes() == std::vector<std::int64_t>{14, 3, 32, 32});
  CHECK(c10.labels_n[8].item<std::int64_t>() == 1);
  CHECK(c10.images_nchw[3][2][5][5].item<int>() == 23);  // channel 2, record 3
  test::write_file(dir / "c100.bin", cifar_records(120, true));
  auto c100 = read_cifar({dir / "c100.bin"}, true);
  CHECK(c100.labels_n[57].item<std::int64_t>() == 57);
  CHECK(c100.coarse_n[57].item<std::int64_t>() == 11);
}

TEST_CASE("data: truncated CIFAR files and out-of-range labels give a clear DataError") {
  test::TempDir dir;
  auto records = cifar_records(3, false);
  test::write_file(dir / "cut.bin", records.substr(0, records.size() - 100));
  CHECK(error_of([&] { read_cifar({dir / "cut.bin"}, false); }).find("not a whole number of 3073-byte records") !=
        std::string::npos);
  records[0] = char(12);
  test::write_file(dir / "bad.bin", records);
  CHECK(error_of([&] { read_cifar({dir / "bad.bin"}, false); }).find("label 12 of record") != std::string::npos);
}

TEST_CASE("data: load_data reads a CIFAR-10 folder, limits it and maps superclasses") {
  test::TempDir dir;
  for (int i = 1; i <= 5; ++i) {
    test::write_file(dir / ("cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin"), cifar_records(10, false));
  }
  test::write_file(dir / "cifar-10-batches-bin/test_batch.bin", cifar_records(10, false));
  config::DataConfig cfg;
  cfg.dataset = moexp::Dataset::cifar10;
  cfg.path = dir.path().string();
  cfg.limit_train = 20;
  auto d = load_data(cfg);
  CHECK(d.train.size() == 20);
  CHECK(d.test.size() == 10);
  CHECK(d.channels == 3);
  CHECK(d.jitter);
  // airplane (0) is a vehicle (1), cat (3) an animal (0)
  CHECK(d.train.coarse_n[0].item<std::int64_t>() == 1);
  CHECK(d.train.coarse_n[3].item<std::int64_t>() == 0);
}

TEST_CASE("data: the synthetic set is deterministic and split-dependent") {
  auto a = make_synthetic(64, 10, 1, 12, 1);
  auto b = make_synthetic(64, 10, 1, 12, 1);
  auto c = make_synthetic(64, 10, 1, 12, 2);
  CHECK(torch::equal(a.images_nchw, b.images_nchw));
  CHECK(torch::equal(a.labels_n, b.labels_n));
  CHECK_FALSE(torch::equal(a.images_nchw, c.images_nchw));
  CHECK(a.labels_n.max().item<std::int64_t>() < 10);
}

TEST_CASE("data: batches are normalised, augmented deterministically, and keep their shape") {
  config::DataConfig cfg;
  cfg.dataset = moexp::Dataset::synthetic;
  cfg.synthetic_channels = 3;
  auto d = load_data(cfg);
  d.jitter = true;
  auto idx = torch::arange(0, 32, torch::kLong);
  auto aug = training_augmentation(d, true);
  auto g1 = epoch_generator(7, 3, 2);
  auto g2 = epoch_generator(7, 3, 2);
  auto x1 = make_batch(d.train, idx, d, aug, g1, torch::kCPU);
  auto x2 = make_batch(d.train, idx, d, aug, g2, torch::kCPU);
  CHECK(x1.sizes() == std::vector<std::int64_t>{32, 3, 16, 16});
  CHECK(torch::equal(x1, x2));
  auto plain = make_batch(d.train, idx, d, Augmentation{}, g1, torch::kCPU);
  CHECK_FALSE(torch::equal(x1, plain));
  auto raw = d.train.images_nchw.index_select(0, idx).to(torch::kFloat) / 255.0;
  CHECK(torch::allclose(plain, (raw - 0.5) / 0.25, 1e-5, 1e-5));
  CHECK(torch::equal(epoch_permutation(100, 1, 2), epoch_permutation(100, 1, 2)));
  CHECK_FALSE(torch::equal(epoch_permutation(100, 1, 2), epoch_permutation(100, 1, 3)));
}

TEST_CASE("data: real Fashion-MNIST from the Debian package") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: dataset-fashion-mnist is not installed");
    return;
  }
  config::DataConfig cfg;
  cfg.path = "/usr/share/datasets/fashion-mnist";
  cfg.limit_train = 100;
  auto d = load_data(cfg);
  CHECK(d.train.size() == 100);
  CHECK(d.test.size() == 10000);
  CHECK(d.train.labels_n[0].item<std::int64_t>() == 9);  // the first training image is an ankle boot
  CHECK(d.superclass_names.size() == 4);
  CHECK(d.train.coarse_n[0].item<std::int64_t>() == 2);  // footwear
}

TEST_CASE("data readers: load_data refuses train and test splits of different image shapes") {
  test::TempDir dir;
  test::write_file(dir / "train-images-idx3-ubyte", idx_images(4, 28, 28));
  test::write_file(dir / "train-labels-idx1-ubyte", idx_labels(4));
  test::write_file(dir / "t10k-images-idx3-ubyte", idx_images(3, 32, 32));
  test::write_file(dir / "t10k-labels-idx1-ubyte", idx_labels(3));
  config::DataConfig cfg;
  cfg.dataset = moexp::Dataset::mnist;
  cfg.path = dir.path().string();
  CHECK(error_of([&] { load_data(cfg); }).find("test images are 1x32x32 but the training images") != std::string::npos);
}
