// The two data movements of an MoE layer's dispatch, as autograd functions: gathering each (sample, chosen expert)
// pair's input row in expert order, and combining the experts' output rows back into one row per sample, weighted
// by the gate. On the CPU for float tensors each runs as one fused pass in both directions (no zero-filled buffer,
// no index_add, no separate weighting product, no concatenation of the experts' outputs); elsewhere (CUDA, bf16
// under autocast) the same results come from LibTorch operations. Measured in bench/moe_stage.cpp and
// bench/model_step.cpp. Shapes: B batch, K experts per sample, N = B*K routed rows sorted by expert, D = C*H*W.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace moexp::moe {

// Where the routed rows come from and go to.
struct RowPlan {
  std::int64_t batch = 0;  // B
  torch::Tensor order_n;   // the (sample, choice) pair of each sorted row, as b * K + j (int64 [N])
  torch::Tensor rows_n;    // sample of each sorted row (int64 [N])
  torch::Tensor pos_bk;    // sorted row of each (sample, choice) pair (int64 [B, K]): rows_n[pos_bk[b, j]] == b;
                           // built for CPU plans only (the fused passes read it)
};

// The plan of `topk_idx_bk` (int64 [B, K] chosen experts): rows sorted by expert, stably (each expert sees its
// samples in batch order).
RowPlan plan_rows(const torch::Tensor& topk_idx_bk);

// The sorted rows x_bchw[rows_n[n]] as consecutive pieces of `sizes_g` rows (one per participating expert; the
// sizes sum to N); the gradient of x sums the gradients of a sample's K rows.
std::vector<torch::Tensor> gather_rows(const torch::Tensor& x_bchw, const RowPlan& plan,
                                       const std::vector<std::int64_t>& sizes_g);

// y_bchw[b] = sum over j of weight_n[p] * out[p] with p = pos_bk[b, j], where `outs_g` are consecutive pieces of
// the N sorted output rows (one per participating expert, in order). Gradients reach every piece and weight_n.
torch::Tensor combine_rows(const std::vector<torch::Tensor>& outs_g, const torch::Tensor& weight_n,
                           const RowPlan& plan);

// Benches: whether gather_rows and combine_rows may use the fused CPU passes (default true; process-wide).
void set_fused_row_ops(bool enabled);

}  // namespace moexp::moe
