// Gate networks (docs/algorithm.md §2.1, §2.2): clean logits h(x), plus noise for noisy top-k in training.
// Shapes: B batch, C channels, H×W spatial, E experts.
#pragma once

#include "config/choices.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace moexp::moe {

struct GateOutput {
  torch::Tensor clean_logits_be;  // h(x)
  torch::Tensor logits_be;        // H(x): clean + ε·σ in noisy training, else the clean logits
  torch::Tensor noise_std_be;     // σ = softplus(W_noise·GAP(x) + 0.01); undefined without noise
};

class GateImpl : public torch::nn::Module {
 public:
  // `kind`: gap_fc (FC(GAP(x)), Linear C→E with bias), relu_gap_fc (FC(GAP(ReLU(x))), the reference's effective
  // FCGate of its detection heads, docs/algorithm.md §2.1) or conv_gap_fc (conv3x3 C→256 no padding, GAP, Linear
  // 256→E). The noise net is a bias-free Linear C→E on the same pooled features (GAP(ReLU(x)) for relu_gap_fc, else
  // GAP(x)), or on GAP(x) whatever the gate with `noise_from_input` (the reference code's choice).
  GateImpl(config::GateKind kind, std::int64_t in_channels, std::int64_t num_experts, bool noise_from_input = false);

  // Logits for `x_bchw`; adds Gaussian noise when `noisy` (training with a soft or no constraint).
  GateOutput forward(const torch::Tensor& x_bchw, bool noisy);

 private:
  torch::nn::Conv2d m_conv{nullptr};  // conv_gap_fc only
  bool m_relu = false;                // relu_gap_fc: ReLU before the pooling
  bool m_noise_from_input = false;    // the noise from GAP(x), not the gate's pooled features
  torch::nn::Linear m_fc{nullptr};
  torch::nn::Linear m_noise{nullptr};
};
TORCH_MODULE(Gate);

}  // namespace moexp::moe
