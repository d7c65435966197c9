// CIFAR-style ResNets (docs/algorithm.md §1.1: 3x3 stem, no max-pool, BasicBlock stages, GAP, FC) with MoE layers
// replacing the stem (position 0) or whole stages (positions 1..S). Shapes: B batch, C channels, H×W spatial, N
// classes.
#pragma once

#include "config/experiment.hpp"
#include "moe/layer.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace moexp::models {

struct StageSpec {
  std::int64_t width;
  std::int64_t blocks;
  std::int64_t stride;
};

struct ArchSpec {
  std::int64_t stem_width;
  std::vector<StageSpec> stages;
};

// The layout of `arch` (resnet8, resnet20, resnet18). Throws moexp::Error for retinanet (not a CIFAR ResNet).
ArchSpec arch_spec(config::Arch arch);

// The MoE layer options of `cfg` (experts, k, gate, noise, constraint, dispatch) for a layer on `in_channels`.
moe::MoeLayerOptions moe_layer_options(const config::ExperimentConfig& cfg, std::int64_t in_channels);

// Inner width ("planes") of a narrow expert replacing stage `position` (1-based) of `arch`: the widths of the
// reference for resnet18 (25/50/90/180), otherwise the width whose parameter count is closest to half the stage's.
std::int64_t narrow_expert_planes(config::Arch arch, std::int64_t position, std::int64_t in_channels);

// Parameter count of a narrow expert with inner width `planes` for a stage (two or more BasicBlocks for a stage of
// n >= 2 blocks, one BasicBlock with a narrow inner width for a
// one-block stage), and of the stage itself.
std::int64_t narrow_expert_params(std::int64_t in, std::int64_t planes, const StageSpec& stage);
std::int64_t stage_params(std::int64_t in, const StageSpec& stage);

struct ModelOutput {
  torch::Tensor logits_bn;
  torch::Tensor aux_loss;               // sum of the MoE layers' auxiliary losses (scalar)
  std::vector<moe::MoeOutput> routing;  // one per MoE layer, in forward order
};

class ResNetImpl : public torch::nn::Module {
 public:
  // Build the network of `cfg` (model and moe sections) for images with `in_channels` and `num_classes` classes.
  ResNetImpl(const config::ExperimentConfig& cfg, std::int64_t in_channels, std::int64_t num_classes);

  ModelOutput forward(const torch::Tensor& x_bchw);

  // The MoE layers in forward order, and the positions they replace.
  const std::vector<moe::MoeLayer>& moe_layers() const { return m_moe_layers; }
  std::vector<std::int64_t> moe_positions() const;

 private:
  struct Slot {
    std::int64_t position;
    torch::nn::Sequential plain{nullptr};
    moe::MoeLayer moe{nullptr};
  };
  std::vector<Slot> m_slots;
  std::vector<moe::MoeLayer> m_moe_layers;
  torch::nn::Linear m_fc{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace moexp::models
