#include "core/metrics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>

namespace moexp {

std::vector<std::string> fixed_group_names(const std::string& kind, std::size_t groups) {
  std::vector<std::string> names;
  if (kind == kLevelGroup) {
    for (std::size_t g = 0; g < groups; ++g) {
      names.push_back(fmt::format("P{}", g + 3));
    }
  } else if (kind == kSizeGroup && groups == 3) {
    names = {"small", "medium", "large"};
  }
  return names;
}

std::string given_name(const std::vector<std::string>& kinds) {
  return fmt::format("{}", fmt::join(kinds, kGivenJoin));
}

std::string given_words(const std::string& given) {
  std::string out = given;
  const std::string join = kGivenJoin;
  for (auto at = out.find(join); at != std::string::npos; at = out.find(join, at + 5)) {
    out.replace(at, join.size(), " and ");
  }
  return out;
}

const ConditionalMi* GroupRouting::given_figure(const std::string& given_kinds) const {
  const auto it =
      std::find_if(given.begin(), given.end(), [&](const ConditionalMi& c) { return c.given == given_kinds; });
  return it == given.end() ? nullptr : &*it;
}

std::string metric_key(const std::string& split, const std::string& name) {
  return split.empty() ? name : split + "_" + name;
}

Metric parse_metric_key(const std::string& key) {
  for (const char* split : {"train", "test"}) {
    const std::string prefix = std::string(split) + "_";
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0) {
      return {split, key.substr(prefix.size()), 0};
    }
  }
  return {"", key, 0};
}

void EpochRecord::set(const std::string& split, const std::string& name, double value) {
  for (auto& m : metrics) {
    if (m.split == split && m.name == name) {
      m.value = value;
      return;
    }
  }
  metrics.push_back({split, name, value});
}

std::optional<double> EpochRecord::find(const std::string& key) const {
  const Metric wanted = parse_metric_key(key);
  for (const auto& m : metrics) {
    if (m.split == wanted.split && m.name == wanted.name) {
      return m.value;
    }
  }
  return std::nullopt;
}

double EpochRecord::at(const std::string& key) const {
  if (auto v = find(key)) {
    return *v;
  }
  throw std::out_of_range("epoch " + std::to_string(epoch) + " has no metric " + key);
}

double coefficient_of_variation(const std::vector<double>& values) {
  if (values.empty()) {
    return 0;
  }
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (mean <= 0) {
    return 0;
  }
  double sq = 0;
  for (double v : values) {
    sq += (v - mean) * (v - mean);
  }
  return std::sqrt(sq / n) / mean;
}

double entropy(const std::vector<double>& p) {
  double h = 0;
  for (double x : p) {
    if (x > 0) {
      h -= x * std::log(x);
    }
  }
  return h;
}

double normalized_mutual_information(const std::vector<std::int64_t>& labels,
                                     const std::vector<std::int64_t>& symbols) {
  const std::size_t n = std::min(labels.size(), symbols.size());
  if (n == 0) {
    return 0;
  }
  std::map<std::pair<std::int64_t, std::int64_t>, double> joint;
  std::map<std::int64_t, double> by_label, by_symbol;
  for (std::size_t i = 0; i < n; ++i) {
    joint[{labels[i], symbols[i]}] += 1;
    by_label[labels[i]] += 1;
    by_symbol[symbols[i]] += 1;
  }
  const double total = static_cast<double>(n);
  double h_symbol = 0;
  for (const auto& [s, c] : by_symbol) {
    h_symbol -= (c / total) * std::log(c / total);
  }
  if (h_symbol <= 1e-12) {
    return 0;
  }
  double mi = 0;
  for (const auto& [key, c] : joint) {
    const double p = c / total;
    mi += p * std::log(p / ((by_label[key.first] / total) * (by_symbol[key.second] / total)));
  }
  return std::clamp(mi / h_symbol, 0.0, 1.0);
}

double shuffled_mutual_information(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& symbols,
                                   std::uint64_t seed) {
  std::vector<std::int64_t> shuffled = labels;
  std::mt19937_64 rng(seed);
  for (std::size_t i = shuffled.size(); i > 1; --i) {
    std::swap(shuffled[i - 1], shuffled[rng() % i]);
  }
  return normalized_mutual_information(shuffled, symbols);
}

void summarize_routing(LayerRouting& layer, double collapse_share) {
  layer.importance_cv = coefficient_of_variation(layer.importance_share);
  layer.sample_cv = coefficient_of_variation(layer.sample_share);
  layer.living_experts = 0;
  for (double share : layer.importance_share) {
    if (share > kLivingShare) {
      ++layer.living_experts;
    }
  }
  layer.mean_entropy = entropy(layer.importance_share);
  layer.max_share = layer.importance_share.empty()
                        ? 0
                        : *std::max_element(layer.importance_share.begin(), layer.importance_share.end());
  layer.collapsed = layer.max_share > collapse_share;
}

const GroupRouting* LayerRouting::group(const std::string& kind) const {
  for (const auto& g : groups) {
    if (g.kind == kind) {
      return &g;
    }
  }
  return nullptr;
}

GroupRouting& LayerRouting::group_or_add(const std::string& kind) {
  for (auto& g : groups) {
    if (g.kind == kind) {
      return g;
    }
  }
  groups.push_back({kind, {}, {}, 0, 0});
  return groups.back();
}

}  // namespace moexp
