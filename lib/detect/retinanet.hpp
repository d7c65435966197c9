// RetinaNet (torchvision's geometry): an ImageNet-style ResNet backbone with a width multiplier, a feature pyramid
// P3.. (P6 from C5 by default, as the paper and detectron2; from P5 as torchvision's v1 optionally), and the
// classification and box subnets shared across levels. Shapes: B images, C channels, A anchors of an image over all
// levels (level-major, then (y * W + x) * 9 + a), K classes.
#pragma once

#include "moe/layer.hpp"

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace moexp::detect {

struct RetinaNetOptions {
  config::Backbone backbone = config::Backbone::resnet18;  // resnet18, resnet34 (BasicBlocks), resnet50 (Bottlenecks)
  double width = 1.0;               // backbone width multiplier (stage widths 64/128/256/512 x width)
  std::int64_t fpn_channels = 256;  // channels of every pyramid level and of both subnets
  std::int64_t top_level = 7;       // pyramid P3..top_level, 5..7
  bool p6_from_c5 = true;           // false: P6 from P5 (torchvision v1)
  std::int64_t num_classes = 80;
  std::int64_t anchors_per_cell = 9;  // 3 octave scales x 3 aspect ratios
  double prior_probability = 0.01;    // initial foreground probability of every (anchor, class)
  // MoE heads (the reference's classification-only, regression-only and mixed variants): the subnet becomes a
  // sparsely-gated mixture of full copies of itself; its own gate routes each (image, level), shared across levels.
  bool moe_cls_head = false;
  bool moe_box_head = false;
  moe::MoeLayerOptions moe;  // experts, k, gate, constraint (in_channels is set to fpn_channels)
  // With both MoE heads: one gate (the classification head's) routes both heads' experts, the reference's "single
  // shared gate" variant; the box head's MoE layer then has no gate of its own and adds no auxiliary loss.
  bool shared_gate = false;
  config::ExpertInit expert_init = config::ExpertInit::head;  // MoE heads' experts: like the dense head, or PyTorch's
  config::Combine combine = config::Combine::logits;          // what the classification MoE head mixes
  // The reference's protocol (heads trained on a frozen, trained backbone + FPN): frozen parts get no gradients;
  // frozen_bn keeps the backbone's batch norms in eval mode with fixed affine parameters (torchvision's
  // FrozenBatchNorm2d), as does a frozen backbone.
  bool freeze_backbone = false;
  bool freeze_fpn = false;
  bool frozen_bn = false;
};

// What a subnet's gate did for one forward: per level, the routing weights [B, E] and chosen experts [B, k].
struct HeadRouting {
  std::vector<torch::Tensor> weights_be;
  std::vector<torch::Tensor> topk_idx_bk;
};

struct RetinaHeadOutput {
  torch::Tensor cls_logits_bak;                            // [B, A, K]
  torch::Tensor box_deltas_ba4;                            // [B, A, 4]
  std::vector<std::array<std::int64_t, 2>> feature_sizes;  // {H, W} of P3, P4, ...
  std::vector<std::int64_t> anchors_per_level;             // H * W * anchors_per_cell per level
  torch::Tensor aux_loss;                // the MoE heads' soft-constraint losses (scalar; 0 without MoE heads)
  HeadRouting cls_routing, box_routing;  // empty for a dense head
};

struct SubnetOutput {
  torch::Tensor out_bao;   // [B, A, outputs_per_anchor] over all levels
  torch::Tensor aux_loss;  // scalar
  HeadRouting routing;
  std::vector<moe::RouteStep> steps;  // an MoE subnet's gate calls, one per level (for a subnet that shares them)
};

// One subnet (classification or box): 4 x (conv3x3 + ReLU), then a conv3x3 to anchors_per_cell x outputs channels;
// convolutions initialised N(0, 0.01) with zero bias, the last bias set to `last_bias`. With `moe` (num_experts > 0)
// it is an MoE layer whose experts are such subnets (each initialised so) and whose gate routes each (image, level);
// its auxiliary loss covers the rows of every level of a forward, and a hard constraint updates per level. A subnet
// built `gateless` follows another subnet's gate (forward's `shared_steps`). The reference code's choices: experts
// with `expert_init` pytorch keep PyTorch's default conv init (no prior bias); with `mix_probabilities` each expert
// ends in a sigmoid, the layer mixes probabilities, and the subnet returns their logit (probabilities clamped to
// [1e-4, 1 - 1e-4], as the reference's loss clamps them), so the loss and the post-processing stay on logits.
class RetinaSubnetImpl : public torch::nn::Module {
 public:
  RetinaSubnetImpl(std::int64_t channels, std::int64_t outputs_per_anchor, std::int64_t anchors_per_cell,
                   double last_bias, const moe::MoeLayerOptions* moe = nullptr, bool gateless = false,
                   config::ExpertInit expert_init = config::ExpertInit::head, bool mix_probabilities = false);
  // Every pyramid level [B, C, H, W] -> [B, sum of H * W * anchors_per_cell, outputs_per_anchor]. With
  // `shared_steps` (another MoE subnet's gate calls on the same levels) the experts follow that routing and the
  // auxiliary loss is zero (the gate's owner counts it).
  SubnetOutput forward(const std::vector<torch::Tensor>& levels_bchw,
                       const std::vector<moe::RouteStep>* shared_steps = nullptr);
  bool is_moe() const { return static_cast<bool>(m_moe); }
  moe::MoeLayer moe_layer() const { return m_moe; }

 private:
  torch::Tensor to_anchor_rows(const torch::Tensor& y_bchw) const;

  torch::nn::Sequential m_dense{nullptr};
  moe::MoeLayer m_moe{nullptr};
  std::int64_t m_outputs = 0, m_anchors = 0;
  bool m_mix_probabilities = false;
};
TORCH_MODULE(RetinaSubnet);

class RetinaNetImpl : public torch::nn::Module {
 public:
  // Throws InputError for a top level outside 5..7.
  explicit RetinaNetImpl(const RetinaNetOptions& options, std::int64_t in_channels = 3);

  // The backbone's stages of x_bchw: C2 .. C5 (torchvision's layer1 .. layer4 outputs).
  std::vector<torch::Tensor> backbone(const torch::Tensor& x_bchw);
  // The pyramid of x_bchw: P3 .. P<top_level>.
  std::vector<torch::Tensor> features(const torch::Tensor& x_bchw);
  // The subnets over every level.
  RetinaHeadOutput forward(const torch::Tensor& x_bchw);
  const RetinaNetOptions& options() const { return m_options; }
  // The MoE layers of the heads (classification first), for setting their evaluation routing.
  std::vector<moe::MoeLayer> moe_layers() const;
  // Training mode as torch::nn::Module::train, except that a frozen backbone's or frozen_bn's batch norms stay in
  // eval mode.
  void train(bool on = true) override;

  // The part a parameter or buffer name (as named_parameters() gives it) belongs to: "backbone", "fpn" or "heads".
  static std::string part_of(const std::string& name);

 private:
  RetinaNetOptions m_options;
  torch::nn::Sequential m_stem{nullptr};
  std::vector<torch::nn::Sequential> m_stages;                  // C2 .. C5
  torch::nn::ModuleList m_lateral{nullptr}, m_output{nullptr};  // FPN 1x1 and 3x3 convs for P3 .. P5
  torch::nn::Conv2d m_p6{nullptr}, m_p7{nullptr};
  RetinaSubnet m_cls{nullptr}, m_box{nullptr};
};
TORCH_MODULE(RetinaNet);

}  // namespace moexp::detect
