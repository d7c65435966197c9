// data/device_split: a split resident on the device gives make_batch's batches bit for bit, epoch after epoch, for
// every augmentation; and data.on_device's rule.
#include "data/device_split.hpp"
#include "data/readers.hpp"
#include "train/classification_task.hpp"

#include <doctest/doctest.h>

using namespace moexp;

namespace {

// A synthetic split of `channels` channels with CIFAR's or Fashion-MNIST's normalisation.
data::DataSplits splits(std::int64_t channels) {
  data::DataSplits d;
  d.train = data::make_synthetic(203, 5, channels, 12, 11);
  d.channels = channels;
  d.num_classes = 5;
  d.mean = std::vector<double>(static_cast<std::size_t>(channels), 0.3);
  d.std = std::vector<double>(static_cast<std::size_t>(channels), 0.25);
  d.mean[0] = 0.4914;
  return d;
}

// Every batch of epochs 1 and 2 of the resident split equals make_batch's for the same order and generator.
void check_equal_batches(const data::DataSplits& d, const data::Augmentation& aug, std::int64_t batch_size) {
  data::DeviceSplit split(d.train, d, torch::kCPU);
  for (std::int64_t epoch = 1; epoch <= 2; ++epoch) {
    const auto order = data::epoch_permutation(d.train.size(), 7, epoch);
    auto host_gen = data::epoch_generator(7, epoch, 2);
    auto device_gen = data::epoch_generator(7, epoch, 2);
    split.plan_epoch(order, batch_size, aug, device_gen);
    REQUIRE(split.batches() == (d.train.size() + batch_size - 1) / batch_size);
    for (std::int64_t b = 0; b < split.batches(); ++b) {
      const auto idx = order.narrow(0, b * batch_size, std::min(batch_size, d.train.size() - b * batch_size));
      const auto expected = data::make_batch(d.train, idx, d, aug, host_gen, torch::kCPU);
      const auto [x, y] = split.batch(b);
      CAPTURE(epoch);
      CAPTURE(b);
      CHECK(x.equal(expected));
      CHECK(y.equal(d.train.labels_n.index_select(0, idx)));
    }
  }
}

}  // namespace

TEST_CASE("device split: batches equal make_batch's bit for bit with flip, crop and colour jitter (3 channels)") {
  check_equal_batches(splits(3), {.flip = true, .crop_pad = 4, .jitter = true}, 64);
}

TEST_CASE("device split: batches equal make_batch's bit for bit with flip and crop, or none (1 channel)") {
  check_equal_batches(splits(1), {.flip = true, .crop_pad = 4, .jitter = false}, 50);
  check_equal_batches(splits(1), {.flip = false, .crop_pad = 4, .jitter = false}, 203);
  check_equal_batches(splits(1), {}, 32);
}

TEST_CASE("device split: data.on_device is on, off, or on for CUDA within the size limit") {
  CHECK(train::resolve_on_device(config::OnDevice::on, torch::kCPU, 1));
  CHECK_FALSE(train::resolve_on_device(config::OnDevice::off, torch::Device(torch::kCUDA, 0), 1));
  CHECK_FALSE(train::resolve_on_device(config::OnDevice::automatic, torch::kCPU, 1));
  CHECK(train::resolve_on_device(config::OnDevice::automatic, torch::Device(torch::kCUDA, 0), 1000));
  CHECK_FALSE(train::resolve_on_device(config::OnDevice::automatic, torch::Device(torch::kCUDA, 0),
                                       train::kOnDeviceLimitBytes + 1));
  CHECK(data::DeviceSplit::bytes_of(splits(3).train) == 203 * 3 * 12 * 12 + 203 * 8);
}
