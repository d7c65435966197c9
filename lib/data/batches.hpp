// Turning the in-memory uint8 dataset into float batches: per-epoch shuffling and batched augmentation.
// Shapes: B batch, C channels, H×W spatial.
#pragma once

#include "data/dataset.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <utility>

namespace moexp::data {

// A random permutation of 0..n-1, determined by (`seed`, `epoch`).
torch::Tensor epoch_permutation(std::int64_t n, std::int64_t seed, std::int64_t epoch);

// A generator for one epoch's augmentation, determined by (`seed`, `epoch`).
at::Generator epoch_generator(std::int64_t seed, std::int64_t epoch, std::uint64_t stream);

struct Augmentation {
  bool flip = false;          // horizontal flip with probability 0.5
  std::int64_t crop_pad = 0;  // random crop of the original size after zero padding by this many pixels
  bool jitter = false;        // brightness, contrast, saturation factors in [0.7, 1.3]
};

// The training augmentation for `data` when `enabled` (none otherwise).
Augmentation training_augmentation(const DataSplits& data, bool enabled);

// One batch's augmentation numbers (undefined tensors for the parts `aug` leaves out).
struct AugmentDraws {
  torch::Tensor flip_b;      // bool: flip horizontally
  torch::Tensor offsets_b2;  // int64: crop offsets (row, column) into the padded image, 0..2 crop_pad
  torch::Tensor brightness_b, contrast_b, saturation_b;  // float in [0.7, 1.3]
  AugmentDraws to(const torch::Device& device) const;
  AugmentDraws narrow(std::int64_t start, std::int64_t length) const;  // samples start .. start + length - 1
};

// The numbers of a batch of `b` images, drawn from `gen` in a fixed order: flips, crop offsets, the three jitters.
AugmentDraws draw_augmentation(std::int64_t b, const Augmentation& aug, at::Generator& gen);

// uint8 images x_bchw as a normalised float batch on their device: scaled to [0, 1], flipped, cropped and jittered
// with `draws` (on the same device), then (x - mean) / std with mean_1c11, std_1c11 on that device.
torch::Tensor augment_batch(torch::Tensor x_bchw, const AugmentDraws& draws, const Augmentation& aug,
                            const torch::Tensor& mean_1c11, const torch::Tensor& std_1c11);

// The dataset's per-channel mean and std as float [1, C, 1, 1] on `device`.
std::pair<torch::Tensor, torch::Tensor> normalisation(const DataSplits& data, const torch::Device& device);

// Images `indices_b` of `ds` as a normalised float batch on `device`, augmented with `aug` drawn from `gen`: gathered
// on the host, uploaded, augmented there.
torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices_b, const DataSplits& data,
                         const Augmentation& aug, at::Generator& gen, const torch::Device& device);

}  // namespace moexp::data
