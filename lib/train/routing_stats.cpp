#include "train/routing_stats.hpp"

#include "core/group_nulls.hpp"

#include <algorithm>
#include <cstdint>
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

}  // namespace

RoutingAccumulator::RoutingAccumulator(std::vector<std::int64_t> positions, std::int64_t num_experts,
                                       RoutingLabels labels)
    : m_positions(std::move(positions)),
      m_num_experts(num_experts),
      m_labels(std::move(labels)),
      m_layers(m_positions.size()) {}

void RoutingAccumulator::add(const std::vector<moe::MoeOutput>& routing, const torch::Tensor& group_labels_bg) {
  if (routing.empty()) {
    return;
  }
  const auto kinds = static_cast<std::int64_t>(m_labels.kinds.size());
  const auto columns = kinds + static_cast<std::int64_t>(m_labels.context.size());
  TORCH_CHECK(group_labels_bg.dim() == 2 && group_labels_bg.size(1) == columns, "routing labels: expected [B, ",
              columns, "] group and context labels, got ", group_labels_bg.sizes());
  m_label_batches.push_back(group_labels_bg.to(torch::kLong));
  for (std::size_t l = 0; l < routing.size() && l < m_layers.size(); ++l) {
    const auto& r = routing[l];
    auto& layer = m_layers[l];
    auto w_be = r.weights_be.to(torch::kDouble);
    const auto opts = w_be.options();
    auto labels_bg = group_labels_bg.to(w_be.device(), torch::kLong);
    auto idx_bk = r.topk_idx_bk;
    auto importance_e = w_be.sum(0);
    auto selected_e =
        torch::zeros({m_num_experts}, opts).index_add_(0, idx_bk.flatten(), torch::ones({idx_bk.numel()}, opts));
    auto entropy = -(w_be * torch::log(w_be.clamp_min(1e-300))).sum();
    const bool first = !layer.importance_sum_e.defined();
    if (first) {
      layer.importance_sum_e = importance_e;
      layer.selected_e = selected_e;
      layer.entropy_sum = entropy;
    } else {
      layer.importance_sum_e += importance_e;
      layer.selected_e += selected_e;
      layer.entropy_sum += entropy;
    }
    for (std::int64_t g = 0; g < kinds; ++g) {
      auto sum_ge = torch::zeros({m_labels.kinds[static_cast<std::size_t>(g)].groups, m_num_experts}, opts)
                        .index_add_(0, labels_bg.select(1, g), w_be);
      if (first) {
        layer.group_sum_ge.push_back(sum_ge);
      } else {
        layer.group_sum_ge[static_cast<std::size_t>(g)] += sum_ge;
      }
    }
    layer.symbols.push_back(torch::bitwise_left_shift(torch::ones_like(idx_bk), idx_bk).sum(1));
    layer.samples += w_be.size(0);
  }
}

std::vector<LayerRouting> RoutingAccumulator::summarize() const {
  std::vector<LayerRouting> out;
  const auto kinds = m_labels.kinds.size();
  const auto columns = static_cast<std::int64_t>(kinds + m_labels.context.size());
  const auto labels_ng =
      m_label_batches.empty() ? torch::zeros({0, columns}, torch::kLong) : torch::cat(m_label_batches).cpu();
  // The context columns by name (empty when the task has none).
  auto context = [&](const char* name) {
    const auto it = std::find(m_labels.context.begin(), m_labels.context.end(), name);
    return it == m_labels.context.end()
               ? std::vector<std::int64_t>{}
               : to_int_vector(labels_ng.select(1, static_cast<std::int64_t>(kinds) + (it - m_labels.context.begin()))
                                   .contiguous());
  };
  // The token columns the specialisation nulls run over; each layer fills in its symbols.
  RoutingTokens tokens;
  tokens.images = context(kContextImage);
  tokens.levels = context(kLevelGroup);
  for (const auto& k : m_labels.kinds) {
    tokens.kinds.push_back(k.kind);
  }
  auto& labels_of_kind = tokens.labels;
  std::vector<torch::Tensor> count_of_kind;
  for (std::size_t g = 0; g < kinds; ++g) {
    auto labels_n = labels_ng.select(1, static_cast<std::int64_t>(g)).contiguous();
    labels_of_kind.push_back(to_int_vector(labels_n));
    count_of_kind.push_back(torch::bincount(labels_n, {}, m_labels.kinds[g].groups).to(torch::kDouble));
  }
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
    lr.sample_entropy = layer.entropy_sum.item<double>() / n;

    tokens.symbols = to_int_vector(torch::cat(layer.symbols));
    const auto& symbols = tokens.symbols;
    for (std::size_t g = 0; g < kinds; ++g) {
      GroupRouting group;
      group.kind = m_labels.kinds[g].kind;
      group.group_expert = row_means(layer.group_sum_ge[g].cpu(), count_of_kind[g]);
      group.group_samples = to_int_vector(count_of_kind[g]);
      group.mi = normalized_mutual_information(labels_of_kind[g], symbols);
      group.mi_control = shuffled_mutual_information(labels_of_kind[g], symbols);
      add_specialisation_nulls(group, g, tokens, m_labels.permutations);
      lr.groups.push_back(std::move(group));
    }

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

}  // namespace moexp::train
