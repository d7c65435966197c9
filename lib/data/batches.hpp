// Turning the in-memory uint8 dataset into float batches: per-epoch shuffling and batched augmentation.
// Shapes: B batch, C channels, H×W spatial.
#pragma once

#include "data/dataset.hpp"

#include <torch/torch.h>

#include <cstdint>

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

// Images `indices_b` of `ds` as a normalised float batch on `device`, augmented with `aug` drawn from `gen`.
torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices_b, const DataSplits& data,
                         const Augmentation& aug, at::Generator& gen, const torch::Device& device);

}  // namespace moexp::data
