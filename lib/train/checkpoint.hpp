// Checkpoints: model (incl. BN statistics and hard-constraint buffers), optimizer, epoch, RNG state, config hash.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace moexp::train {

struct CheckpointInfo {
  std::int64_t epoch = 0;   // epochs completed
  std::string config_hash;  // identity of the config that produced it
  std::string run_uid;      // identity of the run (store RunRow::uid); "" in checkpoints from before it existed
};

// Save atomically (temp + rename) to `path`.
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const CheckpointInfo& info);

// Load `path` into `model` (and `optimizer` when given). Throws InputError naming the file when it is unreadable,
// corrupt or does not fit the model (a checkpoint of another config).
CheckpointInfo load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer);

}  // namespace moexp::train
