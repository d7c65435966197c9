#include "moe/gate.hpp"

#include <cstdint>

namespace moexp::moe {

GateImpl::GateImpl(const std::string& kind, std::int64_t in_channels, std::int64_t num_experts)
    : m_relu(kind == "relu_gap_fc") {
  std::int64_t fc_in = in_channels;
  if (kind == "conv_gap_fc") {
    constexpr std::int64_t kConvWidth = 256;
    m_conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, kConvWidth, 3)
                                                           .stride(1)
                                                           .padding(0)
                                                           .bias(true)));
    fc_in = kConvWidth;
  }
  m_fc = register_module("fc", torch::nn::Linear(fc_in, num_experts));
  m_noise = register_module("noise", torch::nn::Linear(torch::nn::LinearOptions(in_channels, num_experts).bias(false)));
}

GateOutput GateImpl::forward(const torch::Tensor& x_bchw, bool noisy) {
  auto pooled_bc = (m_relu ? torch::relu(x_bchw) : x_bchw).mean({2, 3});
  torch::Tensor features_bf = m_conv ? m_conv->forward(x_bchw).mean({2, 3}) : pooled_bc;
  GateOutput out;
  out.clean_logits_be = m_fc->forward(features_bf);
  out.logits_be = out.clean_logits_be;
  if (noisy) {
    out.noise_std_be = torch::softplus(m_noise->forward(pooled_bc) + 0.01);
    out.logits_be = out.clean_logits_be + torch::randn_like(out.clean_logits_be) * out.noise_std_be;
  }
  return out;
}

} // namespace moexp::moe
