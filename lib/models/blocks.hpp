// Building blocks of the CIFAR-style ResNets. Shapes: B batch, C channels, H×W spatial.
#pragma once

#include "moe/grouped.hpp"

#include <torch/torch.h>

#include <cstdint>

namespace moexp::models {

// A projection shortcut: 1x1 conv (stride, no bias) + BN.
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(std::int64_t in, std::int64_t out, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x_bchw);

  // Its convolution and batch norm (for grouped execution).
  torch::nn::Conv2dImpl* conv_module() { return m_conv.get(); }
  torch::nn::BatchNorm2dImpl* bn_module() { return m_bn.get(); }

 private:
  torch::nn::Conv2d m_conv{nullptr};
  torch::nn::BatchNorm2d m_bn{nullptr};
};
TORCH_MODULE(Projection);

// conv3x3 (in -> planes, stride)-BN-ReLU-conv3x3 (planes -> out)-BN + shortcut, then ReLU. The shortcut is a 1x1
// conv (stride) + BN when the shape changes, else identity. The inner width `planes` is `out` unless given (a
// narrower one makes the narrow expert of a one-block stage).
// Runs grouped (moe::Groupable) as an expert of an MoE layer: the same computation over packed rows.
class BasicBlockImpl : public torch::nn::Module, public moe::Groupable {
 public:
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t planes = 0);
  torch::Tensor forward(const torch::Tensor& x_bchw);
  torch::Tensor forward_grouped(const std::vector<torch::nn::Module*>& peers, const moe::GroupedContext& ctx,
                                const torch::Tensor& x_packed) override;

 private:
  torch::nn::Conv2d m_conv1{nullptr}, m_conv2{nullptr};
  torch::nn::BatchNorm2d m_bn1{nullptr}, m_bn2{nullptr};
  Projection m_shortcut{nullptr};
};
TORCH_MODULE(BasicBlock);

// torchvision's ResNet-50 block (v1.5: the stride on the 3x3): conv1x1 (in -> width)-BN-ReLU-conv3x3 (width, stride)-
// BN-ReLU-conv1x1 (width -> 4 x width)-BN + shortcut, then ReLU; the shortcut is a 1x1 conv (stride) + BN when the
// shape changes, else identity. Names as torchvision's (conv1..3, bn1..3; downsample is `shortcut`).
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 4;
  BottleneckImpl(std::int64_t in, std::int64_t width, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x_bchw);

 private:
  torch::nn::Conv2d m_conv1{nullptr}, m_conv2{nullptr}, m_conv3{nullptr};
  torch::nn::BatchNorm2d m_bn1{nullptr}, m_bn2{nullptr}, m_bn3{nullptr};
  Projection m_shortcut{nullptr};
};
TORCH_MODULE(Bottleneck);

// The stem: conv3x3 (no bias) - BN - ReLU.
torch::nn::Sequential make_stem(std::int64_t in, std::int64_t out);

// Parameter counts, computed from the definitions (used to size narrow experts without building them).
std::int64_t basic_block_params(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t planes = 0);
std::int64_t stem_params(std::int64_t in, std::int64_t out);

// Kaiming-normal (fan_out, ReLU) init for convs, BN weight 1 / bias 0 (torchvision's ResNet init).
void init_weights(torch::nn::Module& module);

}  // namespace moexp::models
