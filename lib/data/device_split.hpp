// A split resident on the training device (data.on_device): its uint8 images and labels uploaded once, and each epoch's
// batches planned ahead — the epoch's order and every batch's augmentation numbers drawn on the host from the
// epoch's generator in make_batch's order, uploaded in one copy per epoch — so that a training step gathers, crops,
// flips, jitters and normalises its batch on the device with no host copy or read. The batches equal make_batch's bit
// for bit (tests/test_data_device_split.cpp).
#pragma once

#include "data/batches.hpp"
#include "data/dataset.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <utility>

namespace moexp::data {

class DeviceSplit {
 public:
  // Upload `ds` (its images, labels) and `data`'s mean and std to `device`.
  DeviceSplit(const Dataset& ds, const DataSplits& data, const torch::Device& device);

  // Plan an epoch visiting `order_n` (host int64) in batches of `batch_size`: batch b's augmentation is drawn from
  // `gen` after batch b - 1's, as b calls of make_batch would draw it. Two uploads: the indices and crop offsets, and
  // the flips and jitters.
  void plan_epoch(const torch::Tensor& order_n, std::int64_t batch_size, const Augmentation& aug, at::Generator& gen);

  // The planned epoch's batch `b`: normalised, augmented images and their labels, on the device.
  std::pair<torch::Tensor, torch::Tensor> batch(std::int64_t b) const;

  // Batches of the planned epoch.
  std::int64_t batches() const { return m_batches; }

  // The bytes a split of `ds` takes on the device (images and labels).
  static std::int64_t bytes_of(const Dataset& ds);

 private:
  torch::Tensor m_images_nchw, m_labels_n, m_mean_1c11, m_std_1c11;
  Augmentation m_aug;
  std::int64_t m_batch_size = 1, m_batches = 0, m_samples = 0;
  torch::Tensor m_order_n;  // on the device
  AugmentDraws m_draws;     // the epoch's, sample-major, on the device
};

}  // namespace moexp::data
