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
// tensor. A tensor the checkpoint lacks under its own name is looked up under `alias(name)` when that is not empty.
// Every tensor of the parts in `required` must be copied (they are to be frozen): else InputError naming the file and
// the first tensor missing or of another shape.
InitReport init_from_checkpoint(torch::nn::Module& model, const std::filesystem::path& path,
                                const std::function<std::string(const std::string&)>& part_of,
                                const std::vector<std::string>& required,
                                const std::function<std::string(const std::string&)>& alias = {});

// A torchvision ResNet state dict written by scripts/export_torchvision_resnet.py (torch.save of a plain dict), by
// torchvision's names. InputError naming the file when it is missing or not such a dict.
std::map<std::string, torch::Tensor> torchvision_state(const std::filesystem::path& path);

// moexp's name of torchvision ResNet tensor `name`: conv1 -> stem.0, bn1 -> stem.1, layerS.B.downsample.0 / .1 ->
// layerS.B.shortcut.conv / .bn, the blocks' own names unchanged; "" for what the backbone has no use for (fc, probe).
std::string moexp_backbone_name(const std::string& torchvision_name);

// Load the torchvision backbone in `path` (model.backbone_weights) into the tensors of `model` whose part is
// "backbone": each must be in the file with its shape, else InputError naming the file and listing the missing and
// the unexpected names. `unused` (when given) receives the file's names left out (fc).
InitReport load_backbone_weights(torch::nn::Module& model, const std::filesystem::path& path,
                                 const std::function<std::string(const std::string&)>& part_of,
                                 std::vector<std::string>* unused = nullptr);

}  // namespace moexp::train
