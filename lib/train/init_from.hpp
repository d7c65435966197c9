// Starting a run from another run's weights (model.init_from, the reference's protocol: a dense RetinaNet trained
// first, then MoE heads trained on its frozen backbone + FPN): every parameter and buffer of a checkpoint whose name
// and shape match one of the model's is copied; the others keep their initialisation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace moexp::train {

// How much of one part of the model (backbone, fpn, heads) came from the checkpoint.
struct PartInit {
  std::string part;
  std::int64_t copied = 0;
  std::int64_t total = 0;
};

struct InitReport {
  std::vector<PartInit> parts;  // in the order the model names its tensors
  std::int64_t copied = 0, total = 0;
  // "backbone 122/122, fpn 16/16, heads 20/76"
  std::string summary() const;
};

// The tensors (parameters and buffers) of the model saved in checkpoint `path`, by dotted name. InputError naming the
// file when it is missing, unreadable or not a checkpoint.
std::map<std::string, torch::Tensor> checkpoint_tensors(const std::filesystem::path& path);

// Copy into `model` every tensor of checkpoint `path` whose name and shape match; `part_of` names the part of a
// tensor. Every tensor of the parts in `required` must be copied (they are to be frozen): else InputError naming the
// file and the first tensor missing or of another shape.
InitReport init_from_checkpoint(torch::nn::Module& model, const std::filesystem::path& path,
                                const std::function<std::string(const std::string&)>& part_of,
                                const std::vector<std::string>& required);

} // namespace moexp::train
