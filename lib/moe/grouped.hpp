// Grouped expert execution: the experts of an MoE layer that received rows run as one computation instead of one
// pass each. Their sub-batches are padded to the largest one (the capacity: no routed row is ever dropped) and
// stacked along channels, [cap, G*C, H, W] for G participating experts; each convolution runs once with groups = G
// over the experts' stacked weights, and batch norm normalises each expert's channels with statistics of its real
// rows only (padding rows are masked out of the mean, the variance and the running statistics). The experts' own
// parameters and buffers stay the source of truth (checkpoints are unchanged); gradients reach them through the
// stacking. Experts without rows take no part, as in per-expert execution (no gradient, no running-stat update).
// Shapes: N routed rows (sorted by expert), G participating experts, cap = the largest sub-batch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace moexp::moe {

// The packing of one step's routed rows and the grouped operations over it.
class GroupedContext {
 public:
  // `rows_g`: the number of rows of each participating expert, in the order of the sorted rows (each > 0).
  GroupedContext(const std::vector<std::int64_t>& rows_g, const torch::Device& device);

  // A packing of fixed shape built on the device, with no host read (moe.capacity_factor): every one of `groups`
  // experts takes part with `capacity` slots; row n (of expert expert_n[n], rows in batch order, not sorted) takes
  // its expert's next slot, and a row past its expert's capacity is dropped (packed nowhere, unpacked as zeros). An
  // expert without rows keeps its batch-norm running statistics.
  static GroupedContext with_capacity(const torch::Tensor& expert_n, std::int64_t groups, std::int64_t capacity);

  std::int64_t groups() const { return m_groups; }
  std::int64_t capacity() const { return m_capacity; }
  // Rows that were packed (bool [N]; all of them unless built with_capacity).
  const torch::Tensor& kept_n() const { return m_kept_n; }

  // [N, C, H, W] rows (sorted by expert; with_capacity: in batch order) -> [cap, G*C, H, W], zero rows as padding.
  torch::Tensor pack(const torch::Tensor& x_nchw) const;
  // [cap, G*C, H, W] -> [N, C, H, W] in pack's row order (padding rows left out; dropped rows as zeros).
  torch::Tensor unpack(const torch::Tensor& y_packed) const;

  // One grouped convolution: `peers[g]` is expert g's convolution (same options for all; no bias).
  torch::Tensor conv(const std::vector<torch::nn::Conv2dImpl*>& peers, const torch::Tensor& x_packed) const;
  // Batch norm of each expert's channels over its real rows (training mode: batch statistics, running statistics
  // updated as torch's batch_norm does; eval mode: the running statistics). Statistics in fp32 under autocast.
  torch::Tensor batch_norm(const std::vector<torch::nn::BatchNorm2dImpl*>& peers, const torch::Tensor& x_packed) const;

 private:
  GroupedContext() = default;

  std::vector<std::int64_t> m_rows_g;
  std::int64_t m_groups = 0;
  std::int64_t m_capacity = 0;
  bool m_fixed = false;     // with_capacity: slot cap * G is the dropped rows' (discarded) slot
  torch::Tensor m_kept_n;   // bool [N]
  torch::Tensor m_slot_n;   // where each row sits in the [cap * G] packed rows (slot * G + g)
  torch::Tensor m_mask_cg;  // 1 for a real row, 0 for padding
  torch::Tensor m_count_g;  // real rows per expert (float)
};

// A module whose forward can run grouped. `peers` are the same module of each participating expert, in order.
class Groupable {
 public:
  virtual ~Groupable() = default;
  virtual torch::Tensor forward_grouped(const std::vector<torch::nn::Module*>& peers, const GroupedContext& ctx,
                                        const torch::Tensor& x_packed) = 0;
};

// Whether `expert` is a Sequential whose children are all Conv2d (no bias), BatchNorm2d, ReLU or Groupable.
bool can_run_grouped(const torch::nn::Module& expert);

// Run the participating `experts` (Sequentials of one structure, can_run_grouped) over packed rows.
torch::Tensor run_grouped(const std::vector<torch::nn::SequentialImpl*>& experts, const GroupedContext& ctx,
                          const torch::Tensor& x_packed);

}  // namespace moexp::moe
