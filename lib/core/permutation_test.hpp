// Specialisation statistics with their nulls (docs/algorithm.md §4.3): how much the chosen expert set tells about a
// label — overall or within strata (I(set; size | level)) — and whether that is more than chance, judged by
// permuting the labels within strata that keep the confounds (the level, the image) fixed. Torch-free; everything
// runs over a table of routing tokens, never the model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moexp {

// Routing tokens: token i has label `labels[i]` (its group: a size bucket, a class), routing symbol `symbols[i]`
// (the bitmask of its chosen experts) and stratum `strata[i]` (what the null keeps fixed: the pyramid level, the
// image; all 0 for none). The three have equal lengths. `clusters`, when not empty (same length), names the routing
// unit of each token: tokens of one unit (an image's pyramid level in detection) share one routing decision, so they
// share a symbol and a stratum.
struct TokenTable {
  std::vector<std::int64_t> labels;
  std::vector<std::int64_t> symbols;
  std::vector<std::int64_t> strata;
  std::vector<std::int64_t> clusters{};
};

// I(symbol; label | stratum) = Σ_s p(s) I(symbol; label | stratum = s), in nats (plug-in estimate); equals the
// unconditional I(symbol; label) when every stratum is 0.
double conditional_mutual_information(const TokenTable& tokens);

// conditional_mutual_information divided by H(symbol | stratum): 1 when the chosen set is a function of the label
// within every stratum, about 0 when independent given the stratum; 0 when the set is a function of the stratum.
double normalized_conditional_mi(const TokenTable& tokens);

// An observed figure against its permutation null.
struct NullComparison {
  double observed = 0;
  double null_mean = 0;
  double null_sd = 0;  // sample standard deviation over the permutations
  double p_value = 1;  // (1 + #{null >= observed}) / (1 + permutations): never 0, 1/(1 + n) at its floor
  std::int64_t permutations = 0;
  std::uint64_t seed = 0;
};

// `c` as a JSON object: {"observed": ..., "null_mean": ..., "null_sd": ..., "p": ..., "permutations": n, "seed": s}.
std::string null_comparison_json(const NullComparison& c);

// The default number of permutations (p floors at 1/201 ≈ 0.005).
inline constexpr std::int64_t kDefaultPermutations = 200;

// The p-value of `observed` against `null` values: (1 + #{null >= observed - tolerance}) / (1 + n), where the
// tolerance (1e-12 relative) keeps exact ties, which floating-point sums can break, counted as ties.
double permutation_p_value(double observed, const std::vector<double>& null);

// `observed` against the null values `null` (drawn from `seed`): their mean, sample sd and permutation_p_value.
NullComparison compare_with_null(double observed, const std::vector<double>& null, std::uint64_t seed);

// `statistic` of `tokens`, against `permutations` copies whose labels are shuffled within each stratum (a
// Fisher-Yates shuffle per stratum, from core/random's generator seeded with `seed`: the same seed gives the same
// null on every platform). With `clusters`, the copies instead permute the units' symbols among the units of each
// stratum, every unit keeping its tokens' labels together: the null for tokens that share routing (shuffling single
// labels would treat an image's objects as independent draws). Throws std::invalid_argument when the columns differ
// in length or a unit's tokens differ in symbol or stratum.
NullComparison stratified_permutation_test(const TokenTable& tokens,
                                           const std::function<double(const TokenTable&)>& statistic,
                                           std::int64_t permutations = kDefaultPermutations,
                                           std::uint64_t seed = 20261207);

}  // namespace moexp
