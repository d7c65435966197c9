// Accumulates the routing of MoE layers over an epoch (or an evaluation) into per-layer statistics: expert shares,
// a group x expert matrix and the specialisation (MI) per group kind, pair co-activation and entropies.
// Routing is counted per token: one row of a layer's weights (an image in classification; an (image, FPN level)
// pair in detection), each token labelled with one group per kind.
// Shapes: B tokens, E experts, K experts chosen per token, G group kinds.
#pragma once

#include "core/metrics.hpp"
#include "moe/layer.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::train {

// One kind of group tokens are labelled with: its name and how many groups (labels 0..groups-1) it has.
struct GroupKind {
  std::string kind;
  std::int64_t groups = 0;
};

// The group kinds of a task, in the order of the columns of RoutingAccumulator::add's labels, then the context
// columns: labels that are not summarised as groups but shape the specialisation nulls (docs/algorithm.md §4.3):
// kContextImage with kLevelGroup (tokens of one image and level share one routing decision: the nulls permute those
// units) and kLevelGroup (the conditional figure I(set; group | level) and its null, within the level).
struct RoutingLabels {
  std::vector<GroupKind> kinds;
  double collapse_share = kCollapseShare;
  std::vector<std::string> context{};
  std::int64_t permutations = kDefaultPermutations;  // per null; 0: no nulls
};

// The context column that names each token's image.
inline constexpr const char* kContextImage = "image";

class RoutingAccumulator {
 public:
  // One entry per MoE layer: the position it replaces; all layers have `num_experts` experts (<= 64).
  RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts, RoutingLabels labels);

  // Add one batch's routing (one MoeOutput per layer, in position order). Row b of every layer's weights is token b,
  // and `group_labels_bg[b][g]` is its group of kind g, then its context labels (int64 [B, G + C]).
  void add(const std::vector<moe::MoeOutput>& routing, const torch::Tensor& group_labels_bg);

  // Per-layer statistics of everything added so far.
  std::vector<LayerRouting> summarize() const;

 private:
  struct Layer {
    torch::Tensor importance_sum_e;           // Σ_b W[b, i]
    torch::Tensor selected_e;                 // #tokens whose chosen set contains i
    std::vector<torch::Tensor> group_sum_ge;  // per kind: Σ over tokens of group g of W[b, i]
    torch::Tensor entropy_sum;                // Σ_b H(W[b, :])
    std::vector<torch::Tensor> symbols;       // per batch: bitmask of the chosen set, int64 [B]
    std::int64_t samples = 0;
  };
  std::vector<std::int64_t> m_positions;
  std::int64_t m_num_experts;
  RoutingLabels m_labels;
  std::vector<torch::Tensor> m_label_batches;  // int64 [B, G] per batch
  std::vector<Layer> m_layers;
};

}  // namespace moexp::train
