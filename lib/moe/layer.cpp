#include "moe/layer.hpp"

#include "moe/routing.hpp"

#include <cstdint>

namespace moexp::moe {

MoeLayerImpl::MoeLayerImpl(const MoeLayerOptions& options,
                           const std::function<torch::nn::Sequential(std::int64_t)>& make_expert,
                           torch::nn::AnyModule shortcut)
    : m_options(options), m_shortcut(std::move(shortcut)) {
  m_gate = register_module("gate", Gate(options.gate, options.in_channels, options.num_experts));
  m_experts = register_module("experts", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < options.num_experts; ++i) {
    m_experts->push_back(make_expert(i));
  }
  if (!m_shortcut.is_empty()) {
    register_module("shortcut", m_shortcut.ptr());
  }
  if (constraint_info(options.constraint).hard) {
    m_hard = register_module("constraint",
                             HardConstraint(options.constraint, options.num_experts, options.k, options.threshold));
  }
}

Routing MoeLayerImpl::route(const GateOutput& gate_out, std::int64_t batch) {
  const auto device = gate_out.clean_logits_be.device();
  if (is_training()) {
    torch::Tensor blocked_e = m_hard ? m_hard->blocked_experts() : torch::Tensor();
    return top_k_route(gate_out.logits_be, m_options.k, blocked_e);
  }
  if (m_eval.uniform) {
    return uniform_route(batch, m_options.num_experts, device);
  }
  if (m_eval.forced_expert >= 0) {
    return forced_route(batch, m_options.num_experts, m_eval.forced_expert, device);
  }
  return top_k_route(gate_out.clean_logits_be, m_eval.k > 0 ? m_eval.k : m_options.k);
}

torch::Tensor MoeLayerImpl::dispatch_combine(const torch::Tensor& x_bchw, const Routing& routing) {
  // Every (sample, chosen expert) pair becomes one row; rows sorted by expert (stable, so each expert sees its
  // samples in batch order) make each expert's sub-batch one contiguous slice of a single gather. The backward pass
  // then builds one batch-sized gradient for x instead of one per expert, and the sizes need one host read (one
  // device sync on CUDA) instead of one per expert. Measured in bench/moe_stage.cpp.
  const auto batch = x_bchw.size(0);
  const auto k = routing.topk_idx_bk.size(1);
  const auto experts_n = routing.topk_idx_bk.reshape({-1});
  const auto order_n = std::get<1>(experts_n.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  const auto rows_n = order_n.div(k, "floor");
  const auto weight_n = routing.topk_w_bk.reshape({-1}).index_select(0, order_n);
  const auto counts_e = torch::bincount(experts_n, {}, m_options.num_experts).to(torch::kCPU);
  const auto* count = counts_e.data_ptr<std::int64_t>();
  std::vector<std::int64_t> sizes(count, count + m_options.num_experts);
  const auto x_slices = x_bchw.index_select(0, rows_n).split_with_sizes(sizes);
  const auto row_slices = rows_n.split_with_sizes(sizes);
  const auto weight_slices = weight_n.split_with_sizes(sizes);
  torch::Tensor y_bchw;
  for (std::int64_t e = 0; e < m_options.num_experts; ++e) {
    const auto i = static_cast<std::size_t>(e);
    if (sizes[i] == 0) {
      continue;  // empty sub-batch: skip the expert (spec §5.5)
    }
    auto out_rchw = m_experts[e]->as<torch::nn::Sequential>()->forward(x_slices[i]);
    if (!y_bchw.defined()) {
      y_bchw = torch::zeros({batch, out_rchw.size(1), out_rchw.size(2), out_rchw.size(3)}, out_rchw.options());
    }
    y_bchw.index_add_(0, row_slices[i], out_rchw * weight_slices[i].view({-1, 1, 1, 1}).to(out_rchw.dtype()));
  }
  return y_bchw;
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x_bchw) {
  const bool hard = static_cast<bool>(m_hard);
  const bool noisy = is_training() && m_options.noise && !hard;
  GateOutput gate_out = m_gate->forward(x_bchw, noisy);
  Routing routing = route(gate_out, x_bchw.size(0));

  MoeOutput out;
  if (is_training() && m_options.constraint == Constraint::importance) {
    out.aux_loss = importance_loss(routing.weights_be, m_options.weight);
  } else if (is_training() && m_options.constraint == Constraint::kl) {
    out.aux_loss = kl_uniform_loss(routing.weights_be, m_options.weight);
  } else if (is_training() && m_options.constraint == Constraint::load) {
    out.aux_loss =
        load_loss(gate_out.clean_logits_be, gate_out.logits_be, gate_out.noise_std_be, m_options.k, m_options.weight);
  } else {
    out.aux_loss = torch::zeros({}, x_bchw.options().dtype(torch::kFloat));
  }
  if (is_training() && hard) {
    m_hard->update(routing.weights_be.detach());
  }
  out.y_bchw = dispatch_combine(x_bchw, routing);
  if (!m_shortcut.is_empty()) {
    out.y_bchw = out.y_bchw + m_shortcut.forward<torch::Tensor>(x_bchw);
  }
  out.weights_be = routing.weights_be.detach();
  out.topk_idx_bk = routing.topk_idx_bk;
  out.clean_logits_be = gate_out.clean_logits_be.detach();
  return out;
}

} // namespace moexp::moe
