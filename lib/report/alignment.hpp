// Aligning experts across seeds. Experts are interchangeable: expert 2 of seed 0 has nothing to do with expert 2 of
// seed 1, so a mean over seeds of group x expert matrices must first put each seed's experts in a common order. Each
// seed's experts are matched to the reference seed's (the first) by the assignment that maximises the summed Pearson
// correlation of matched columns (core/assignment.hpp).
#pragma once

#include "core/permutation_test.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace moexp::report {

using Matrix = std::vector<std::vector<double>>;  // rows x columns

struct ExpertAlignment {
  // Per seed: aligned position j holds that seed's expert expert_of[seed][j] (the identity for the reference seed,
  // and for every seed when alignment is off).
  std::vector<std::vector<std::size_t>> expert_of;
  // Mean correlation of the reference's columns with the matched columns of the other seeds (0 with one seed).
  double matched_correlation = 0;
  // The expectation of the same under a uniformly random matching: the mean correlation over all column pairs.
  double random_correlation = 0;
  bool aligned = false;
};

// Pearson correlation of columns `a` of `x` and `b` of `y` over their rows (0 when either column is constant).
double column_correlation(const Matrix& x, std::size_t a, const Matrix& y, std::size_t b);

// Align the experts (columns) of `seeds` (one G x E matrix per seed, equal shapes) to seeds[0]; with `align` false
// every seed keeps its order and the figures describe that order. Throws std::invalid_argument on unequal shapes.
ExpertAlignment align_experts(const std::vector<Matrix>& seeds, bool align);

// The matched correlation of align_experts(seeds, true) against its own null: the same best-assignment statistic
// over `permutations` copies in which every seed but the reference has its rows (groups) shuffled, each
// independently (core/random, from `seed`). A shuffle keeps every expert's column of values and breaks any
// group structure the seeds share, so the null is what the best of E! matchings reaches by chance — well above the
// all-pairs mean (random_correlation) that it replaces as the baseline. With one seed, or fewer than two groups,
// nothing can be compared: observed 0, p 1, no permutations.
NullComparison alignment_null(const std::vector<Matrix>& seeds, std::int64_t permutations = kDefaultPermutations,
                              std::uint64_t seed = 20261207);

// `m` with its columns reordered: column j of the result is column expert_of[j] of `m` (rows of any length E).
Matrix permute_columns(const Matrix& m, const std::vector<std::size_t>& expert_of);

// A vector reordered the same way: element j of the result is v[expert_of[j]].
std::vector<double> permute(const std::vector<double>& v, const std::vector<std::size_t>& expert_of);

struct MatrixStat {
  Matrix mean, std;  // element-wise over the inputs; std is the sample standard deviation (0 for one input)
};

// Element-wise mean and std of equal-shaped matrices (at least one).
MatrixStat matrix_stat(const std::vector<Matrix>& matrices);

}  // namespace moexp::report
