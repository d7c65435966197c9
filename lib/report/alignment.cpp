#include "report/alignment.hpp"

#include "core/assignment.hpp"
#include "core/random.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>

namespace moexp::report {

double column_correlation(const Matrix& x, std::size_t a, const Matrix& y, std::size_t b) {
  const std::size_t rows = x.size();
  if (rows < 2 || y.size() != rows) {
    return 0;
  }
  double mean_x = 0, mean_y = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    mean_x += x[r][a];
    mean_y += y[r][b];
  }
  mean_x /= static_cast<double>(rows);
  mean_y /= static_cast<double>(rows);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const double dx = x[r][a] - mean_x, dy = y[r][b] - mean_y;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  constexpr double kConstant = 1e-24;  // a dead or saturated expert: its column carries no pattern
  if (sxx <= kConstant || syy <= kConstant) {
    return 0;
  }
  return sxy / std::sqrt(sxx * syy);
}

ExpertAlignment align_experts(const std::vector<Matrix>& seeds, bool align) {
  ExpertAlignment result;
  result.aligned = align;
  if (seeds.empty()) {
    return result;
  }
  const auto& reference = seeds.front();
  const std::size_t experts = reference.empty() ? 0 : reference.front().size();
  for (const auto& m : seeds) {
    if (m.size() != reference.size()) {
      throw std::invalid_argument("align_experts: seeds with different numbers of groups");
    }
    for (const auto& row : m) {
      if (row.size() != experts) {
        throw std::invalid_argument("align_experts: seeds with different numbers of experts");
      }
    }
  }
  std::vector<std::size_t> identity(experts);
  std::iota(identity.begin(), identity.end(), 0);
  result.expert_of.push_back(identity);
  double matched = 0, random = 0;
  for (std::size_t s = 1; s < seeds.size(); ++s) {
    Matrix correlation(experts, std::vector<double>(experts, 0.0));  // [reference expert][seed expert]
    double all_pairs = 0;
    for (std::size_t j = 0; j < experts; ++j) {
      for (std::size_t i = 0; i < experts; ++i) {
        correlation[j][i] = column_correlation(reference, j, seeds[s], i);
        all_pairs += correlation[j][i];
      }
    }
    auto expert_of = align && experts > 0 ? core::max_score_assignment(correlation) : identity;
    double seed_matched = 0;
    for (std::size_t j = 0; j < experts; ++j) {
      seed_matched += correlation[j][expert_of[j]];
    }
    if (experts > 0) {
      matched += seed_matched / static_cast<double>(experts);
      random += all_pairs / static_cast<double>(experts * experts);
    }
    result.expert_of.push_back(std::move(expert_of));
  }
  if (seeds.size() > 1) {
    result.matched_correlation = matched / static_cast<double>(seeds.size() - 1);
    result.random_correlation = random / static_cast<double>(seeds.size() - 1);
  }
  return result;
}

NullComparison alignment_null(const std::vector<Matrix>& seeds, std::int64_t permutations, std::uint64_t seed) {
  NullComparison result;
  result.seed = seed;
  if (seeds.size() < 2 || seeds.front().size() < 2) {
    return result;
  }
  result.observed = align_experts(seeds, true).matched_correlation;
  core::Random random(seed);
  std::vector<Matrix> shuffled = seeds;
  std::vector<double> null;
  for (std::int64_t p = 0; p < permutations; ++p) {
    for (std::size_t s = 1; s < shuffled.size(); ++s) {
      auto& rows = shuffled[s];
      for (std::size_t k = rows.size(); k > 1; --k) {
        std::swap(rows[k - 1], rows[random.below(k)]);
      }
    }
    null.push_back(align_experts(shuffled, true).matched_correlation);
  }
  return compare_with_null(result.observed, null, seed);
}

Matrix permute_columns(const Matrix& m, const std::vector<std::size_t>& expert_of) {
  Matrix out;
  out.reserve(m.size());
  for (const auto& row : m) {
    out.push_back(permute(row, expert_of));
  }
  return out;
}

std::vector<double> permute(const std::vector<double>& v, const std::vector<std::size_t>& expert_of) {
  if (v.size() != expert_of.size()) {
    return v;  // a figure over another set of experts (or none): nothing to reorder
  }
  std::vector<double> out(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) {
    out[j] = v[expert_of[j]];
  }
  return out;
}

MatrixStat matrix_stat(const std::vector<Matrix>& matrices) {
  MatrixStat stat;
  if (matrices.empty()) {
    return stat;
  }
  stat.mean = matrices.front();
  stat.std = matrices.front();
  const double n = static_cast<double>(matrices.size());
  for (std::size_t r = 0; r < stat.mean.size(); ++r) {
    for (std::size_t c = 0; c < stat.mean[r].size(); ++c) {
      double sum = 0;
      for (const auto& m : matrices)
        sum += m.at(r).at(c);
      const double mean = sum / n;
      double ss = 0;
      for (const auto& m : matrices)
        ss += (m[r][c] - mean) * (m[r][c] - mean);
      stat.mean[r][c] = mean;
      stat.std[r][c] = matrices.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
    }
  }
  return stat;
}

}  // namespace moexp::report
