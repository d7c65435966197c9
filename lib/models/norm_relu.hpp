// Batch norm + (residual add) + ReLU as one autograd node: the training-mode epilogue of every ResNet block. Shapes:
// B batch, C channels, H×W spatial.
#pragma once

#include <torch/torch.h>

namespace moexp::models {

// relu(bn(x_bchw) + residual_bchw), the residual optional (undefined: none). In training mode, for channels-last
// float tensors on the CPU whose channel count is not a multiple of 16 (the narrow experts' widths, where LibTorch's
// channels-last batch norm runs 1.4-3x slower: bench/norm_relu.cpp) and an affine BN that tracks running statistics
// with a momentum, it runs as fused passes (one gathers the statistics, one normalises, adds and clips; two
// backward), updating the running statistics and num_batches_tracked as torch::nn::BatchNorm2d does. Elsewhere it
// is LibTorch's batch_norm, add_ and relu_. Results equal those to float rounding; the statistics are summed in a
// fixed order (independent of the thread count).
torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x_bchw,
                              const torch::Tensor& residual_bchw = {});

// bn(x_bchw) alone (a projection shortcut's batch norm), on the same fused passes under the same rule.
torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x_bchw);

// When the fused passes run: never (LibTorch operations everywhere), where they pay (default), or for every
// channel count (tests and benches).
enum class FusedNorm { never, where_faster, always };
void set_fused_batch_norm_relu(FusedNorm mode);

}  // namespace moexp::models
