#include "moe/gate.hpp"

#include <cstdint>

namespace moexp::moe {

GateImpl::GateImpl(config::GateKind kind, std::int64_t in_channels, std::int64_t num_experts, bool noise_from_input)
    : m_noise_from_input(noise_from_input) {
  std::int64_t fc_in = in_channels;
  switch (kind) {
    case config::GateKind::gap_fc:
      break;
    case config::GateKind::relu_gap_fc:
      m_relu = true;
      break;
    case config::GateKind::conv_gap_fc: {
      constexpr std::int64_t kConvWidth = 256;
      m_conv = register_module(
          "conv",
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, kConvWidth, 3).stride(1).padding(0).bias(true)));
      fc_in = kConvWidth;
      break;
    }
  }
  m_fc = register_module("fc", torch::nn::Linear(fc_in, num_experts));
  m_noise = register_module("noise", torch::nn::Linear(torch::nn::LinearOptions(in_channels, num_experts).bias(false)));
}

namespace {

// The spatial mean as LibTorch computes it on the CPU (the sum, divided), written as such so that its gradient
// stays an expanded view of the [B, C] gradient: mean's own backward divides the expanded gradient into a new
// activation-sized tensor, which the autograd engine then adds to the dispatch's input gradient (about 11 ms per
// step of a ResNet-18 MoE layer at stage 1 on 2 cores).
torch::Tensor spatial_mean(const torch::Tensor& x_bchw) {
  return x_bchw.sum({2, 3}) / static_cast<double>(x_bchw.size(2) * x_bchw.size(3));
}

}  // namespace

GateOutput GateImpl::forward(const torch::Tensor& x_bchw, bool noisy) {
  auto pooled_bc = spatial_mean(m_relu ? torch::relu(x_bchw) : x_bchw);
  torch::Tensor features_bf = m_conv ? spatial_mean(m_conv->forward(x_bchw)) : pooled_bc;
  GateOutput out;
  out.clean_logits_be = m_fc->forward(features_bf);
  out.logits_be = out.clean_logits_be;
  if (noisy) {
    const auto noise_in_bc = m_noise_from_input && m_relu ? spatial_mean(x_bchw) : pooled_bc;
    out.noise_std_be = torch::softplus(m_noise->forward(noise_in_bc) + 0.01);
    out.logits_be = out.clean_logits_be + torch::randn_like(out.clean_logits_be) * out.noise_std_be;
  }
  return out;
}

}  // namespace moexp::moe
