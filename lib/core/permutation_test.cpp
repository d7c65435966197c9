#include "core/permutation_test.hpp"

#include "core/json.hpp"
#include "core/random.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

namespace moexp {
namespace {

// Values recoded 0..n-1 in order of first appearance.
std::vector<std::int32_t> dense_codes(const std::vector<std::int64_t>& values, std::int32_t& distinct) {
  std::unordered_map<std::int64_t, std::int32_t> code;
  std::vector<std::int32_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = code.try_emplace(values[i], static_cast<std::int32_t>(code.size())).first->second;
  }
  distinct = static_cast<std::int32_t>(code.size());
  return out;
}

// The positions of `values` grouped by value, groups in order of first appearance.
std::vector<std::vector<std::size_t>> positions_by_value(const std::vector<std::int64_t>& values) {
  std::int32_t distinct = 0;
  const auto code = dense_codes(values, distinct);
  std::vector<std::vector<std::size_t>> groups(static_cast<std::size_t>(distinct));
  for (std::size_t i = 0; i < code.size(); ++i) {
    groups[static_cast<std::size_t>(code[i])].push_back(i);
  }
  return groups;
}

// A Fisher-Yates shuffle of `values` within each group of positions, as they stand.
void shuffle_within(std::vector<std::int64_t>& values, const std::vector<std::vector<std::size_t>>& groups,
                    core::Random& random) {
  for (const auto& group : groups) {
    for (std::size_t k = group.size(); k > 1; --k) {
      std::swap(values[group[k - 1]], values[group[random.below(k)]]);
    }
  }
}

// The token table with dense codes and its tokens listed by stratum: what every evaluation and permutation reuses.
struct CodedTokens {
  std::int32_t labels = 0, symbols = 0;
  std::vector<std::int32_t> label, symbol;
  std::vector<std::vector<std::size_t>> members;  // per stratum: its tokens

  explicit CodedTokens(const TokenTable& t) {
    if (t.labels.size() != t.symbols.size() || t.labels.size() != t.strata.size()) {
      throw std::invalid_argument("token table: labels, symbols and strata differ in length");
    }
    label = dense_codes(t.labels, labels);
    symbol = dense_codes(t.symbols, symbols);
    members = positions_by_value(t.strata);
  }
};

struct Information {
  double mutual = 0;       // I(symbol; label | stratum), nats
  double conditional = 0;  // H(symbol | stratum), nats
};

// I(symbol; label | stratum) and H(symbol | stratum) of `c`, with labels `label` (c.label or a permutation of it).
Information information(const CodedTokens& c, const std::vector<std::int32_t>& label) {
  const auto total = static_cast<double>(label.size());
  Information info;
  if (label.empty()) {
    return info;
  }
  std::vector<double> joint(static_cast<std::size_t>(c.labels) * static_cast<std::size_t>(c.symbols), 0.0);
  std::vector<double> by_label(static_cast<std::size_t>(c.labels), 0.0);
  std::vector<double> by_symbol(static_cast<std::size_t>(c.symbols), 0.0);
  for (const auto& tokens : c.members) {
    const auto n = static_cast<double>(tokens.size());
    for (auto i : tokens) {
      const auto l = static_cast<std::size_t>(label[i]);
      const auto y = static_cast<std::size_t>(c.symbol[i]);
      joint[l * static_cast<std::size_t>(c.symbols) + y] += 1;
      by_label[l] += 1;
      by_symbol[y] += 1;
    }
    // Σ over the stratum's cells: (n_ly / N) log(n_ly n / (n_l n_y)); each cell read once, then cleared.
    for (auto i : tokens) {
      const auto l = static_cast<std::size_t>(label[i]);
      const auto y = static_cast<std::size_t>(c.symbol[i]);
      double& cell = joint[l * static_cast<std::size_t>(c.symbols) + y];
      if (cell > 0) {
        info.mutual += cell / total * std::log(cell * n / (by_label[l] * by_symbol[y]));
        cell = 0;
      }
    }
    for (auto i : tokens) {
      const auto y = static_cast<std::size_t>(c.symbol[i]);
      if (by_symbol[y] > 0) {
        info.conditional -= by_symbol[y] / total * std::log(by_symbol[y] / n);
        by_symbol[y] = 0;
      }
      by_label[static_cast<std::size_t>(label[i])] = 0;
    }
  }
  info.mutual = std::max(0.0, info.mutual);  // rounding can take an exact 0 below it
  return info;
}

double normalized(const Information& info) {
  return info.conditional <= 1e-12 ? 0.0 : std::clamp(info.mutual / info.conditional, 0.0, 1.0);
}

}  // namespace

double conditional_mutual_information(const TokenTable& tokens) {
  const CodedTokens coded(tokens);
  return information(coded, coded.label).mutual;
}

double normalized_conditional_mi(const TokenTable& tokens) {
  const CodedTokens coded(tokens);
  return normalized(information(coded, coded.label));
}

std::string null_comparison_json(const NullComparison& c) {
  return fmt::format(
      "{{\"observed\": {}, \"null_mean\": {}, \"null_sd\": {}, \"p\": {}, \"permutations\": {}, "
      "\"seed\": {}}}",
      core::json_number(c.observed), core::json_number(c.null_mean), core::json_number(c.null_sd),
      core::json_number(c.p_value), c.permutations, c.seed);
}

double permutation_p_value(double observed, const std::vector<double>& null) {
  const double tolerance = 1e-12 * std::max(1.0, std::abs(observed));
  const auto at_least = std::count_if(null.begin(), null.end(), [&](double v) { return v >= observed - tolerance; });
  return static_cast<double>(1 + at_least) / static_cast<double>(1 + null.size());
}

NullComparison compare_with_null(double observed, const std::vector<double>& null, std::uint64_t seed) {
  NullComparison result;
  result.observed = observed;
  result.permutations = static_cast<std::int64_t>(null.size());
  result.seed = seed;
  if (!null.empty()) {
    result.null_mean = std::accumulate(null.begin(), null.end(), 0.0) / static_cast<double>(null.size());
    double sq = 0;
    for (double v : null) {
      sq += (v - result.null_mean) * (v - result.null_mean);
    }
    result.null_sd = null.size() > 1 ? std::sqrt(sq / static_cast<double>(null.size() - 1)) : 0.0;
  }
  result.p_value = permutation_p_value(observed, null);
  return result;
}

namespace {

// The clustered form of stratified_permutation_test: the units' symbols permuted within strata.
NullComparison clustered_permutation_test(const TokenTable& tokens,
                                          const std::function<double(const TokenTable&)>& statistic,
                                          std::int64_t permutations, std::uint64_t seed) {
  const std::size_t n = tokens.labels.size();
  if (tokens.clusters.size() != n || tokens.symbols.size() != n || tokens.strata.size() != n) {
    throw std::invalid_argument("permutation test: the token table's columns differ in length");
  }
  std::unordered_map<std::int64_t, std::size_t> unit_index;
  std::vector<std::int64_t> unit_symbol;
  std::vector<std::int64_t> unit_stratum;
  std::vector<std::size_t> token_unit(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto [it, added] = unit_index.try_emplace(tokens.clusters[i], unit_symbol.size());
    if (added) {
      unit_symbol.push_back(tokens.symbols[i]);
      unit_stratum.push_back(tokens.strata[i]);
    } else if (unit_symbol[it->second] != tokens.symbols[i] || unit_stratum[it->second] != tokens.strata[i]) {
      throw std::invalid_argument(fmt::format(
          "permutation test: the tokens of unit {} differ in routing symbol or stratum", tokens.clusters[i]));
    }
    token_unit[i] = it->second;
  }
  const auto members = positions_by_value(unit_stratum);  // per stratum: its units
  core::Random random(seed);
  TokenTable shuffled = tokens;
  std::vector<std::int64_t> permuted = unit_symbol;
  std::vector<double> null;
  null.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, permutations)));
  for (std::int64_t p = 0; p < permutations; ++p) {
    shuffle_within(permuted, members, random);
    for (std::size_t i = 0; i < n; ++i) {
      shuffled.symbols[i] = permuted[token_unit[i]];
    }
    null.push_back(statistic(shuffled));
  }
  return compare_with_null(statistic(tokens), null, seed);
}

}  // namespace

NullComparison stratified_permutation_test(const TokenTable& tokens,
                                           const std::function<double(const TokenTable&)>& statistic,
                                           std::int64_t permutations, std::uint64_t seed) {
  if (!tokens.clusters.empty()) {
    return clustered_permutation_test(tokens, statistic, permutations, seed);
  }
  const auto members = positions_by_value(tokens.strata);
  core::Random random(seed);
  TokenTable shuffled = tokens;
  std::vector<double> null;
  null.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, permutations)));
  for (std::int64_t p = 0; p < permutations; ++p) {
    shuffle_within(shuffled.labels, members, random);
    null.push_back(statistic(shuffled));
  }
  return compare_with_null(statistic(tokens), null, seed);
}

}  // namespace moexp
