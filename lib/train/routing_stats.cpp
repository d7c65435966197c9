#include "train/routing_stats.hpp"

#include <map>

namespace moexp::train {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).cpu().contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<std::int64_t> to_int_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kLong).cpu().contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

// Rows of `sum_re` divided by `count_r` (rows with no samples stay 0).
std::vector<std::vector<double>> row_means(const torch::Tensor& sum_re, const torch::Tensor& count_r) {
  auto means = (sum_re / count_r.clamp_min(1).unsqueeze(1)).cpu().contiguous();
  std::vector<std::vector<double>> rows;
  for (std::int64_t r = 0; r < means.size(0); ++r) {
    rows.push_back(to_vector(means[r]));
  }
  return rows;
}

} // namespace

RoutingAccumulator::RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts,
                                       RoutingLabels labels)
    : m_positions(std::move(positions)), m_num_experts(num_experts), m_labels(std::move(labels)),
      m_layers(m_positions.size()) {}

void RoutingAccumulator::add(const std::vector<moe::MoeOutput>& routing, const torch::Tensor& labels_b) {
  if (routing.empty()) {
    return;
  }
  m_label_batches.push_back(labels_b.to(torch::kLong));
  for (std::size_t l = 0; l < routing.size() && l < m_layers.size(); ++l) {
    const auto& r = routing[l];
    auto& layer = m_layers[l];
    auto w_be = r.weights_be.to(torch::kDouble);
    const auto opts = w_be.options();
    auto labels = labels_b.to(w_be.device(), torch::kLong);
    auto idx_bk = r.topk_idx_bk;
    auto importance_e = w_be.sum(0);
    auto selected_e =
        torch::zeros({m_num_experts}, opts).index_add_(0, idx_bk.flatten(), torch::ones({idx_bk.numel()}, opts));
    auto class_sum_ce = torch::zeros({m_labels.num_classes, m_num_experts}, opts).index_add_(0, labels, w_be);
    auto entropy = -(w_be * torch::log(w_be.clamp_min(1e-300))).sum();
    if (!layer.importance_sum_e.defined()) {
      layer.importance_sum_e = importance_e;
      layer.selected_e = selected_e;
      layer.class_sum_ce = class_sum_ce;
      layer.entropy_sum = entropy;
    } else {
      layer.importance_sum_e += importance_e;
      layer.selected_e += selected_e;
      layer.class_sum_ce += class_sum_ce;
      layer.entropy_sum += entropy;
    }
    layer.symbols.push_back(torch::bitwise_left_shift(torch::ones_like(idx_bk), idx_bk).sum(1));
    layer.samples += w_be.size(0);
  }
}

std::vector<LayerRouting> RoutingAccumulator::summarize() const {
  std::vector<LayerRouting> out;
  const auto labels = m_label_batches.empty() ? std::vector<std::int64_t>{}
                                              : to_int_vector(torch::cat(m_label_batches));
  std::vector<std::int64_t> coarse;
  for (auto c : labels) {
    coarse.push_back(m_labels.superclass_of.empty() ? 0 : m_labels.superclass_of[static_cast<std::size_t>(c)]);
  }
  const auto num_super = m_labels.superclass_of.empty()
                             ? 1
                             : *std::max_element(m_labels.superclass_of.begin(), m_labels.superclass_of.end()) + 1;
  const auto class_count_c =
      torch::bincount(torch::tensor(labels, torch::kLong), {}, m_labels.num_classes).to(torch::kDouble);
  const auto super_of = torch::tensor(m_labels.superclass_of.empty()
                                          ? std::vector<std::int64_t>(static_cast<std::size_t>(m_labels.num_classes), 0)
                                          : m_labels.superclass_of,
                                      torch::kLong);
  for (std::size_t l = 0; l < m_layers.size(); ++l) {
    const auto& layer = m_layers[l];
    LayerRouting lr;
    lr.layer = static_cast<int>(l);
    lr.position = static_cast<int>(m_positions[l]);
    lr.samples = layer.samples;
    if (layer.samples == 0) {
      lr.importance_share.assign(static_cast<std::size_t>(m_num_experts), 0.0);
      lr.sample_share.assign(static_cast<std::size_t>(m_num_experts), 0.0);
      summarize_routing(lr, m_labels.collapse_share);
      out.push_back(std::move(lr));
      continue;
    }
    const double n = static_cast<double>(layer.samples);
    lr.importance_share = to_vector(layer.importance_sum_e / n);
    lr.sample_share = to_vector(layer.selected_e / n);
    summarize_routing(lr, m_labels.collapse_share);

    auto class_sum_ce = layer.class_sum_ce.cpu();
    lr.class_expert = row_means(class_sum_ce, class_count_c);
    lr.class_samples = to_int_vector(class_count_c);
    auto super_sum_se = torch::zeros({num_super, m_num_experts}, torch::kDouble).index_add_(0, super_of, class_sum_ce);
    auto super_count_s = torch::zeros({num_super}, torch::kDouble).index_add_(0, super_of, class_count_c);
    lr.superclass_expert = row_means(super_sum_se, super_count_s);
    lr.sample_entropy = layer.entropy_sum.item<double>() / n;

    const auto symbols = to_int_vector(torch::cat(layer.symbols));
    lr.class_mi = normalized_mutual_information(labels, symbols);
    lr.class_mi_control = shuffled_mutual_information(labels, symbols);
    lr.superclass_mi = normalized_mutual_information(coarse, symbols);
    lr.superclass_mi_control = shuffled_mutual_information(coarse, symbols);

    std::map<std::int64_t, std::int64_t> per_set;
    for (auto s : symbols) {
      ++per_set[s];
    }
    lr.coactivation.assign(static_cast<std::size_t>(m_num_experts * m_num_experts), 0);
    for (const auto& [mask, count] : per_set) {
      for (std::int64_t i = 0; i < m_num_experts; ++i) {
        for (std::int64_t j = i + 1; j < m_num_experts; ++j) {
          if (((mask >> i) & 1) && ((mask >> j) & 1)) {
            lr.coactivation[static_cast<std::size_t>(i * m_num_experts + j)] += count;
          }
        }
      }
    }
    out.push_back(std::move(lr));
  }
  return out;
}

} // namespace moexp::train
