// Accumulates the routing of MoE layers over an epoch (or an evaluation) into per-layer statistics: expert shares,
// class x expert and superclass x expert matrices, pair co-activation, specialisation (MI) and entropies.
// Shapes: B batch, E experts, K experts chosen per sample, C classes, S superclasses.
#pragma once

#include "core/metrics.hpp"
#include "moe/layer.hpp"

#include <torch/torch.h>

#include <vector>

namespace moexp::train {

struct RoutingLabels {
  std::int64_t num_classes = 0;
  std::vector<std::int64_t> superclass_of;  // class -> superclass
  double collapse_share = kCollapseShare;
};

class RoutingAccumulator {
public:
  // One entry per MoE layer: the position it replaces; all layers have `num_experts` experts (<= 64).
  RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts, RoutingLabels labels);

  // Add one batch's routing (one MoeOutput per layer, in position order) for samples with `labels_b` (class ids).
  void add(const std::vector<moe::MoeOutput>& routing, const torch::Tensor& labels_b);

  // Per-layer statistics of everything added so far.
  std::vector<LayerRouting> summarize() const;

private:
  struct Layer {
    torch::Tensor importance_sum_e;  // Σ_b W[b, i]
    torch::Tensor selected_e;        // #samples whose chosen set contains i
    torch::Tensor class_sum_ce;      // Σ over samples of class c of W[b, i]
    torch::Tensor entropy_sum;       // Σ_b H(W[b, :])
    std::vector<torch::Tensor> symbols;  // per batch: bitmask of the chosen set, int64 [B]
    std::int64_t samples = 0;
  };
  std::vector<std::int64_t> m_positions;
  std::int64_t m_num_experts;
  RoutingLabels m_labels;
  std::vector<torch::Tensor> m_label_batches;  // int64 [B] per batch
  std::vector<Layer> m_layers;
};

} // namespace moexp::train
