#include "core/permutation_test.hpp"
#include "core/random.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

using namespace moexp;

namespace {

// Object tokens of a detection-like set: 4 pyramid levels (the strata); the size bucket (0..2) follows the level
// (level 0 mostly small, level 3 mostly large) with some spread, so size and level are confounded. The chosen expert
// (one of 4) follows `route(level, size, random)`.
template <typename Route>
TokenTable confounded_tokens(std::size_t n, std::uint64_t seed, Route route) {
  core::Random random(seed);
  TokenTable t;
  for (std::size_t i = 0; i < n; ++i) {
    const auto level = static_cast<std::int64_t>(random.below(4));
    const double u = random.uniform();
    const std::int64_t size =
        u < 0.6 ? std::min<std::int64_t>(2, level * 2 / 3) : static_cast<std::int64_t>(random.below(3));
    t.strata.push_back(level);
    t.labels.push_back(size);
    t.symbols.push_back(std::int64_t{1} << route(level, size, random));
  }
  return t;
}

TokenTable unstratified(TokenTable t) {
  std::fill(t.strata.begin(), t.strata.end(), 0);
  return t;
}

}  // namespace

TEST_CASE("conditional MI: hand-checked values, and the unconditional MI when there is one stratum") {
  // Two strata; in stratum 0 the symbol copies the label (I = log 2), in stratum 1 it ignores it (I = 0).
  TokenTable t{{0, 1, 0, 1, 0, 1, 0, 1}, {1, 2, 1, 2, 1, 1, 2, 2}, {0, 0, 0, 0, 1, 1, 1, 1}};
  CHECK(conditional_mutual_information(t) == doctest::Approx(0.5 * std::log(2.0)));
  CHECK(normalized_conditional_mi(t) == doctest::Approx(0.5));  // H(symbol | stratum) = log 2
  // One stratum: I(symbol; label) of the pooled table, as normalized_mutual_information defines it.
  TokenTable pooled{{0, 1, 0, 1}, {1, 2, 1, 2}, {0, 0, 0, 0}};
  CHECK(normalized_conditional_mi(pooled) == doctest::Approx(1.0));
  // A symbol that is a function of the stratum carries nothing beyond it.
  TokenTable by_stratum{{0, 1, 2, 0, 1, 2}, {1, 1, 1, 2, 2, 2}, {0, 0, 0, 1, 1, 1}};
  CHECK(conditional_mutual_information(by_stratum) == doctest::Approx(0.0));
  CHECK(normalized_conditional_mi(by_stratum) == 0.0);
  CHECK_THROWS_AS(conditional_mutual_information({{0, 1}, {1}, {0, 0}}), std::invalid_argument);
}

TEST_CASE("permutation test: routing by level only looks like size specialisation until the level is held fixed") {
  // The expert is the level's, with a 30 % chance of a random one: nothing to do with the size within a level.
  const auto tokens = confounded_tokens(3000, 1, [](std::int64_t level, std::int64_t, core::Random& r) {
    return r.uniform() < 0.7 ? level : static_cast<std::int64_t>(r.below(4));
  });
  const auto mi = [](const TokenTable& t) { return normalized_conditional_mi(t); };
  // Unconditional, against a global shuffle: size "specialisation" far above chance, p at its floor.
  const auto naive = stratified_permutation_test(unstratified(tokens), mi);
  CHECK(naive.observed > naive.null_mean + 10 * naive.null_sd);
  CHECK(naive.p_value == doctest::Approx(1.0 / 201));
  // Given the level, shuffled within levels: nothing left.
  const auto given_level = stratified_permutation_test(tokens, mi);
  CHECK(given_level.observed < 0.01);
  CHECK(given_level.p_value > 0.05);
  CHECK(given_level.permutations == kDefaultPermutations);
}

TEST_CASE("permutation test: routing by size within each level is conditional specialisation with p at its floor") {
  const auto tokens = confounded_tokens(3000, 2, [](std::int64_t, std::int64_t size, core::Random& r) {
    return r.uniform() < 0.7 ? size : static_cast<std::int64_t>(r.below(4));
  });
  const auto result =
      stratified_permutation_test(tokens, [](const TokenTable& t) { return normalized_conditional_mi(t); });
  CHECK(result.observed > 0.1);
  CHECK(result.observed > result.null_mean + 10 * result.null_sd);
  CHECK(result.p_value == doctest::Approx(1.0 / 201));
}

TEST_CASE("permutation test: under the null its p-values are about uniform over seeds") {
  std::vector<double> p;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    // Routing independent of the size given the level (by the level plus noise).
    const auto tokens = confounded_tokens(120, 1000 + seed, [](std::int64_t level, std::int64_t, core::Random& r) {
      return r.uniform() < 0.5 ? level : static_cast<std::int64_t>(r.below(4));
    });
    p.push_back(stratified_permutation_test(
                    tokens, [](const TokenTable& t) { return conditional_mutual_information(t); }, 99, seed)
                    .p_value);
  }
  const auto share_below = [&](double x) {
    return static_cast<double>(std::count_if(p.begin(), p.end(), [&](double v) { return v <= x; })) /
           static_cast<double>(p.size());
  };
  double mean = 0;
  for (double v : p) {
    mean += v / static_cast<double>(p.size());
  }
  // A valid test: P(p <= a) <= a (about a), for a = 0.05, 0.25, 0.5; the mean near 1/2.
  CHECK(share_below(0.05) <= 0.09);
  CHECK(share_below(0.25) == doctest::Approx(0.25).epsilon(0.4));
  CHECK(share_below(0.5) == doctest::Approx(0.5).epsilon(0.2));
  CHECK(mean == doctest::Approx(0.5).epsilon(0.15));
}

TEST_CASE("permutation test: labels move only within their stratum, the same seed gives the same null") {
  TokenTable t{{1, 0, 0, 2, 2, 1}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1}};
  // A statistic that only a move across strata could change: the sum of stratum 0's labels.
  const auto stratum0 = [](const TokenTable& x) {
    return static_cast<double>(x.labels[0] + x.labels[1] + x.labels[2]);
  };
  const auto kept = stratified_permutation_test(t, stratum0, 50, 7);
  CHECK(kept.null_mean == 1.0);
  CHECK(kept.null_sd == 0.0);
  CHECK(kept.p_value == 1.0);  // every permutation ties the observed value
  // A statistic a within-stratum move does change varies, the same way for the same seed.
  const auto first = [](const TokenTable& x) { return static_cast<double>(x.labels[0]); };
  const auto a = stratified_permutation_test(t, first, 50, 7);
  const auto b = stratified_permutation_test(t, first, 50, 7);
  CHECK(a.null_sd > 0);
  CHECK(a.null_mean == b.null_mean);
  CHECK(a.p_value == b.p_value);
}

TEST_CASE("permutation p-value: (1 + at least as large) / (1 + n), ties counted") {
  CHECK(permutation_p_value(5, {1, 2, 3}) == doctest::Approx(0.25));
  CHECK(permutation_p_value(2, {1, 2, 3}) == doctest::Approx(0.75));
  CHECK(permutation_p_value(0.1 + 0.2, {0.3}) == doctest::Approx(1.0));  // a tie up to rounding is a tie
  CHECK(permutation_p_value(1, {}) == 1.0);
}

namespace {

// Detection-like units: `units` (image, level) units on 2 levels, each with 4 objects that share the unit's routing
// symbol (one of 4 experts, drawn independently of everything) and, mostly, one size label (units hold objects of
// similar size). Routing does not depend on size: any specialisation a test finds is a false positive.
TokenTable clustered_independent_tokens(std::int64_t units, std::uint64_t seed) {
  core::Random random(seed);
  TokenTable t;
  for (std::int64_t u = 0; u < units; ++u) {
    const auto symbol = std::int64_t{1} << random.below(4);
    const auto unit_size = static_cast<std::int64_t>(random.below(3));
    for (int object = 0; object < 4; ++object) {
      t.labels.push_back(random.uniform() < 0.9 ? unit_size : static_cast<std::int64_t>(random.below(3)));
      t.symbols.push_back(symbol);
      t.strata.push_back(u % 2);
      t.clusters.push_back(u);
    }
  }
  return t;
}

}  // namespace

TEST_CASE("permutation test: with units, their symbols move within the stratum and their tokens' labels stay") {
  TokenTable t{{0, 1, 2, 0, 1, 2}, {1, 1, 2, 4, 4, 8}, {0, 0, 0, 0, 1, 1}, {10, 10, 11, 12, 13, 14}};
  std::vector<TokenTable> seen;
  const auto record = [&](const TokenTable& x) {
    seen.push_back(x);
    return 0.0;
  };
  stratified_permutation_test(t, record, 40, 3);
  REQUIRE(seen.size() == 41);  // 40 permutations, then the observed table
  bool moved = false;
  for (const auto& x : seen) {
    CHECK(x.labels == t.labels);
    CHECK(x.symbols[0] == x.symbols[1]);  // unit 10 keeps one symbol
    auto stratum0 = std::vector<std::int64_t>{x.symbols[0], x.symbols[2], x.symbols[3]};
    std::sort(stratum0.begin(), stratum0.end());
    CHECK(stratum0 == std::vector<std::int64_t>{1, 2, 4});  // stratum 0's units' symbols, permuted among them
    auto stratum1 = std::vector<std::int64_t>{x.symbols[4], x.symbols[5]};
    std::sort(stratum1.begin(), stratum1.end());
    CHECK(stratum1 == std::vector<std::int64_t>{4, 8});
    moved = moved || x.symbols != t.symbols;
  }
  CHECK(moved);
}

TEST_CASE("permutation test: with units that share routing, only the units' null keeps its level") {
  // Routing independent of size, sizes clustered within units: shuffling single labels treats 4 objects of a unit
  // as 4 independent draws and finds 'specialisation' far too often; permuting the units' symbols does not.
  const auto mi = [](const TokenTable& t) { return normalized_conditional_mi(t); };
  int unit_rejections = 0;
  int token_rejections = 0;
  const int seeds = 200;
  for (int seed = 0; seed < seeds; ++seed) {
    auto tokens = clustered_independent_tokens(60, 500 + static_cast<std::uint64_t>(seed));
    unit_rejections += stratified_permutation_test(tokens, mi, 99, static_cast<std::uint64_t>(seed)).p_value <= 0.05;
    tokens.clusters.clear();
    token_rejections += stratified_permutation_test(tokens, mi, 99, static_cast<std::uint64_t>(seed)).p_value <= 0.05;
  }
  CHECK(unit_rejections <= seeds * 0.09);
  CHECK(token_rejections >= seeds * 0.7);  // measured: 179 of 200 (the units' null: 7)
}

TEST_CASE("permutation test: units whose tokens differ in symbol or stratum are refused") {
  TokenTable split_unit{{0, 1}, {1, 2}, {0, 0}, {7, 7}};
  CHECK_THROWS_AS(stratified_permutation_test(
                      split_unit, [](const TokenTable&) { return 0.0; }, 5, 1),
                  std::invalid_argument);
  TokenTable short_units{{0, 1}, {1, 1}, {0, 0}, {7}};
  CHECK_THROWS_AS(stratified_permutation_test(
                      short_units, [](const TokenTable&) { return 0.0; }, 5, 1),
                  std::invalid_argument);
}
