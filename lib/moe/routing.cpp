#include "moe/routing.hpp"

#include <cstdint>
#include <limits>

namespace moexp::moe {

Routing top_k_route(const torch::Tensor& logits_be, std::int64_t k, const torch::Tensor& masked_e) {
  torch::Tensor logits = logits_be.to(torch::kFloat);  // routing in fp32 even under bf16 autocast
  if (masked_e.defined()) {
    logits = logits.masked_fill(masked_e.to(logits.device()).unsqueeze(0), -std::numeric_limits<float>::infinity());
  }
  auto [top_logits_bk, topk_idx_bk] = logits.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
  auto topk_w_bk = torch::softmax(top_logits_bk, /*dim=*/1).to(torch::kFloat);
  auto weights_be = torch::zeros_like(logits).scatter(1, topk_idx_bk, topk_w_bk);
  return {weights_be, topk_idx_bk, topk_w_bk};
}

Routing forced_route(std::int64_t batch, std::int64_t num_experts, std::int64_t expert, const torch::Device& device) {
  auto opts = torch::TensorOptions().device(device);
  auto idx_bk = torch::full({batch, 1}, expert, opts.dtype(torch::kLong));
  auto w_bk = torch::ones({batch, 1}, opts.dtype(torch::kFloat));
  auto weights_be = torch::zeros({batch, num_experts}, opts.dtype(torch::kFloat)).scatter(1, idx_bk, w_bk);
  return {weights_be, idx_bk, w_bk};
}

Routing uniform_route(std::int64_t batch, std::int64_t num_experts, const torch::Device& device) {
  auto opts = torch::TensorOptions().device(device);
  auto idx_bk = torch::arange(num_experts, opts.dtype(torch::kLong)).unsqueeze(0).expand({batch, num_experts});
  auto w_bk = torch::full({batch, num_experts}, 1.0 / static_cast<double>(num_experts), opts.dtype(torch::kFloat));
  return {w_bk.clone(), idx_bk.contiguous(), w_bk};
}

}  // namespace moexp::moe
