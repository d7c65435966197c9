// Accumulates the routing of MoE layers over an epoch (or an evaluation) into per-layer, per-expert statistics.
// Shapes: B batch, E experts, K experts chosen per sample.
#pragma once

#include "core/metrics.hpp"
#include "moe/layer.hpp"

#include <torch/torch.h>

#include <vector>

namespace moexp::train {

class RoutingAccumulator {
public:
  // One entry per MoE layer: the position it replaces and its expert count.
  RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts);

  // Add one batch's routing (one MoeOutput per layer, in the same order as the positions).
  void add(const std::vector<moe::MoeOutput>& routing);

  // Per-layer shares and summaries of everything added so far.
  std::vector<LayerRouting> summarize() const;

private:
  std::vector<std::int64_t> m_positions;
  std::int64_t m_num_experts;
  std::vector<torch::Tensor> m_importance_sum_e;  // Σ_b W[b, i] (double)
  std::vector<torch::Tensor> m_selected_e;        // #samples whose chosen set contains i (double)
  std::vector<std::int64_t> m_samples;
};

} // namespace moexp::train
