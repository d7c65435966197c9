#include "train/routing_stats.hpp"

namespace moexp::train {

RoutingAccumulator::RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts)
    : m_positions(std::move(positions)), m_num_experts(num_experts), m_samples(m_positions.size(), 0) {
  m_importance_sum_e.resize(m_positions.size());
  m_selected_e.resize(m_positions.size());
}

void RoutingAccumulator::add(const std::vector<moe::MoeOutput>& routing) {
  for (std::size_t l = 0; l < routing.size() && l < m_positions.size(); ++l) {
    const auto& r = routing[l];
    auto importance_e = r.weights_be.sum(0).to(torch::kDouble);
    auto selected_e = torch::zeros({m_num_experts}, importance_e.options())
                          .index_add_(0, r.topk_idx_bk.flatten(),
                                      torch::ones({r.topk_idx_bk.numel()}, importance_e.options()));
    if (!m_importance_sum_e[l].defined()) {
      m_importance_sum_e[l] = importance_e;
      m_selected_e[l] = selected_e;
    } else {
      m_importance_sum_e[l] += importance_e;
      m_selected_e[l] += selected_e;
    }
    m_samples[l] += r.weights_be.size(0);
  }
}

std::vector<LayerRouting> RoutingAccumulator::summarize() const {
  std::vector<LayerRouting> layers;
  for (std::size_t l = 0; l < m_positions.size(); ++l) {
    LayerRouting lr;
    lr.layer = static_cast<int>(l);
    lr.position = static_cast<int>(m_positions[l]);
    lr.samples = m_samples[l];
    if (m_samples[l] > 0) {
      const double n = static_cast<double>(m_samples[l]);
      auto imp = (m_importance_sum_e[l] / n).cpu().contiguous();
      auto sel = (m_selected_e[l] / n).cpu().contiguous();
      lr.importance_share.assign(imp.data_ptr<double>(), imp.data_ptr<double>() + imp.numel());
      lr.sample_share.assign(sel.data_ptr<double>(), sel.data_ptr<double>() + sel.numel());
    } else {
      lr.importance_share.assign(static_cast<std::size_t>(m_num_experts), 0.0);
      lr.sample_share.assign(static_cast<std::size_t>(m_num_experts), 0.0);
    }
    summarize_routing(lr);
    layers.push_back(std::move(lr));
  }
  return layers;
}

} // namespace moexp::train
