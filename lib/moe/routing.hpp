// Routing math (pure functions): which experts each sample goes to, and with what weight.
// Shapes: B batch, E experts, K experts chosen per sample.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace moexp::moe {

struct Routing {
  torch::Tensor weights_be;   // sparse gate weights: K non-zeros per row, each row sums to 1
  torch::Tensor topk_idx_bk;  // chosen experts (int64), by descending logit
  torch::Tensor topk_w_bk;    // their weights (softmax over the K kept logits)
};

// Noisy/clean top-k gating (docs/algorithm.md §2.2): keep the `k` largest of `logits_be`, softmax over those k only,
// zero elsewhere. Experts with `masked_e[i] == true` are never chosen (pass an undefined tensor for no mask); the
// caller guarantees at least k unmasked experts. Gradients flow to the kept logits.
Routing top_k_route(const torch::Tensor& logits_be, std::int64_t k, const torch::Tensor& masked_e = {});

// Every sample to expert `expert` with weight 1 (diagnostic forced-expert routing, docs/algorithm.md §2.3).
Routing forced_route(std::int64_t batch, std::int64_t num_experts, std::int64_t expert, const torch::Device& device);

// Dense uniform mixture: every expert with weight 1/E (docs/algorithm.md §2.3).
Routing uniform_route(std::int64_t batch, std::int64_t num_experts, const torch::Device& device);

}  // namespace moexp::moe
