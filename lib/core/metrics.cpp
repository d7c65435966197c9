#include "core/metrics.hpp"

#include <cmath>
#include <numeric>

namespace moexp {

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

void summarize_routing(LayerRouting& layer) {
  layer.importance_cv = coefficient_of_variation(layer.importance_share);
  layer.sample_cv = coefficient_of_variation(layer.sample_share);
  layer.living_experts = 0;
  for (double share : layer.importance_share) {
    if (share > kLivingShare) {
      ++layer.living_experts;
    }
  }
}

} // namespace moexp
