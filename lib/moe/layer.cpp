#include "moe/layer.hpp"

#include "core/error.hpp"
#include "moe/grouped.hpp"
#include "moe/host_read.hpp"
#include "moe/routing.hpp"
#include "moe/row_ops.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace moexp::moe {

MoeLayerImpl::MoeLayerImpl(const MoeLayerOptions& options,
                           const std::function<torch::nn::Sequential(std::int64_t)>& make_expert,
                           torch::nn::AnyModule shortcut)
    : m_options(options), m_shortcut(std::move(shortcut)) {
  if (options.has_gate) {
    m_gate =
        register_module("gate", Gate(options.gate, options.in_channels, options.num_experts, options.noise_from_input));
  }
  m_experts = register_module("experts", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < options.num_experts; ++i) {
    m_experts->push_back(make_expert(i));
  }
  if (!m_shortcut.is_empty()) {
    register_module("shortcut", m_shortcut.ptr());
  }
  m_can_group = options.num_experts > 0 && can_run_grouped(*m_experts[0]);
  if (options.capacity_factor > 0 && !m_can_group) {
    throw ConfigError(
        "moe.capacity_factor: these experts cannot run grouped (only convolutions without bias, batch norm, ReLU and "
        "residual blocks can); set it to 0");
  }
  if (options.has_gate && constraint_info(options.constraint).hard) {
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
  // device sync on CUDA) instead of one per expert. The count is a scatter-add, not bincount: ATen's CUDA bincount
  // reads the indices' min and max to the host first (two more syncs). Gather and combine are moe/row_ops.hpp's fused
  // passes on the CPU. Measured in bench/moe_stage.cpp and bench/model_step.cpp.
  const auto plan = plan_rows(routing.topk_idx_bk);
  const auto weight_n = routing.topk_w_bk.reshape({-1}).index_select(0, plan.order_n);
  const auto idx_n = routing.topk_idx_bk.reshape({-1});
  const auto counts_e = read_to_host(
      torch::zeros({m_options.num_experts}, idx_n.options()).scatter_add_(0, idx_n, torch::ones_like(idx_n)));
  const auto* count = counts_e.data_ptr<std::int64_t>();
  std::vector<std::int64_t> sizes(count, count + m_options.num_experts);
  std::vector<std::int64_t> rows_g;
  std::vector<torch::nn::SequentialImpl*> participants;
  for (std::int64_t e = 0; e < m_options.num_experts; ++e) {
    if (sizes[static_cast<std::size_t>(e)] > 0) {  // an expert without rows takes no part (docs/algorithm.md §1.4)
      rows_g.push_back(sizes[static_cast<std::size_t>(e)]);
      participants.push_back(m_experts[e]->as<torch::nn::Sequential>());
    }
  }
  if (rows_g.empty()) {
    return {};
  }
  // Automatic dispatch runs per expert: grouped execution measured 1.2-3.3x slower on the CPU (bench/moe_stage.cpp,
  // bench/RESULTS.md) and is not measured on CUDA yet; the rule for choosing it goes here once it is.
  const bool grouped = m_can_group && rows_g.size() > 1 && m_options.dispatch == Dispatch::grouped;
  std::vector<torch::Tensor> outs;
  if (grouped) {
    const GroupedContext ctx(rows_g, x_bchw.device());
    const auto x_sorted = gather_rows(x_bchw, plan, {plan.rows_n.size(0)}).front();
    outs.push_back(ctx.unpack(run_grouped(participants, ctx, ctx.pack(x_sorted))));
  } else {
    const auto x_slices = gather_rows(x_bchw, plan, rows_g);
    for (std::size_t g = 0; g < participants.size(); ++g) {
      outs.push_back(participants[g]->forward(x_slices[g]));
    }
  }
  return combine_rows(outs, weight_n, plan);
}

std::pair<torch::Tensor, torch::Tensor> MoeLayerImpl::capacity_dispatch_combine(const torch::Tensor& x_bchw,
                                                                                const Routing& routing) {
  const auto b = x_bchw.size(0), k = routing.topk_idx_bk.size(1), experts = m_options.num_experts;
  const auto capacity = static_cast<std::int64_t>(
      std::ceil(m_options.capacity_factor * static_cast<double>(b * k) / static_cast<double>(experts)));
  // Rows in batch order, n = b * k + j: sample b's j-th choice.
  const auto ctx = GroupedContext::with_capacity(routing.topk_idx_bk.reshape({-1}), experts, capacity);
  // (not repeat_interleave: on CUDA it reads the output size to the host)
  const auto sample_n = torch::arange(b, torch::TensorOptions().dtype(torch::kLong).device(x_bchw.device()))
                            .unsqueeze(1)
                            .expand({b, k})
                            .reshape({-1});
  std::vector<torch::nn::SequentialImpl*> all;
  for (std::int64_t e = 0; e < experts; ++e) {
    all.push_back(m_experts[e]->as<torch::nn::Sequential>());
  }
  const auto y_n = ctx.unpack(run_grouped(all, ctx, ctx.pack(x_bchw.index_select(0, sample_n))));
  const auto w_n = routing.topk_w_bk.reshape({-1}).to(y_n.scalar_type());
  auto y_bchw = (y_n * w_n.view({-1, 1, 1, 1})).view({b, k, y_n.size(1), y_n.size(2), y_n.size(3)}).sum(1);
  return {std::move(y_bchw), b * k - ctx.kept_n().sum()};
}

RouteStep MoeLayerImpl::route_step(const torch::Tensor& x_bchw) {
  if (!m_gate) {
    throw std::logic_error("route_step on an MoE layer built without a gate (it follows another layer's routing)");
  }
  const bool hard = static_cast<bool>(m_hard);
  const bool noisy = is_training() && m_options.noise && !hard;
  RouteStep step;
  step.gate = m_gate->forward(x_bchw, noisy);
  step.routing = route(step.gate, x_bchw.size(0));
  if (is_training() && hard) {
    m_hard->update(step.routing.weights_be.detach());
  }
  return step;
}

torch::Tensor MoeLayerImpl::aux_loss(const std::vector<RouteStep>& steps) const {
  const auto options = steps.front().gate.clean_logits_be.options().dtype(torch::kFloat);
  if (!is_training()) {
    return torch::zeros({}, options);
  }
  auto cat = [&](auto field) {
    std::vector<torch::Tensor> parts;
    for (const auto& s : steps) {
      parts.push_back(field(s));
    }
    return parts.size() == 1 ? parts.front() : torch::cat(parts, 0);
  };
  auto weights_be = [&] { return cat([](const RouteStep& s) { return s.routing.weights_be; }); };
  switch (m_options.constraint) {
    case Constraint::none:
    case Constraint::relative:
    case Constraint::absolute:
      return torch::zeros({}, options);  // no auxiliary loss: unconstrained, or a hard rule that masks instead
    case Constraint::importance:
      return importance_loss(weights_be(), m_options.weight);
    case Constraint::kl:
      return kl_uniform_loss(weights_be(), m_options.weight);
    case Constraint::load:
      return load_loss(cat([](const RouteStep& s) { return s.gate.clean_logits_be; }),
                       cat([](const RouteStep& s) { return s.gate.logits_be; }),
                       cat([](const RouteStep& s) { return s.gate.noise_std_be; }), m_options.k, m_options.weight);
  }
  throw std::logic_error("aux_loss: a constraint kind without a case");
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x_bchw) {
  RouteStep step = route_step(x_bchw);
  MoeOutput out;
  out.aux_loss = aux_loss({step});
  if (is_training() && m_options.capacity_factor > 0) {
    std::tie(out.y_bchw, out.dropped_pairs) = capacity_dispatch_combine(x_bchw, step.routing);
  } else {
    out.y_bchw = dispatch_combine(x_bchw, step.routing);
  }
  if (!m_shortcut.is_empty()) {
    out.y_bchw = out.y_bchw + m_shortcut.forward<torch::Tensor>(x_bchw);
  }
  out.weights_be = step.routing.weights_be.detach();
  out.topk_idx_bk = step.routing.topk_idx_bk;
  out.clean_logits_be = step.gate.clean_logits_be.detach();
  return out;
}

}  // namespace moexp::moe
