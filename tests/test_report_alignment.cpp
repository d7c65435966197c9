// report::align_experts: seeds whose experts are the same up to a relabelling are put back in one order.
#include "core/random.hpp"
#include "report/alignment.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

using namespace moexp::report;

namespace {

// 8 classes x 4 experts: class c is served mostly by expert c % 4 (rows sum to 1).
Matrix specialised() {
  Matrix m(8, std::vector<double>(4, 0.05));
  for (std::size_t c = 0; c < 8; ++c) {
    m[c][c % 4] = 0.85;
  }
  return m;
}

// Column j of the result is column relabel[j] of... the inverse: expert e of `m` becomes expert relabel[e].
Matrix relabel(const Matrix& m, const std::vector<std::size_t>& new_index_of) {
  Matrix out = m;
  for (std::size_t r = 0; r < m.size(); ++r) {
    for (std::size_t e = 0; e < m[r].size(); ++e)
      out[r][new_index_of[e]] = m[r][e];
  }
  return out;
}

}  // namespace

TEST_CASE("column_correlation: Pearson over rows, a constant column correlates 0") {
  const Matrix x{{1, 5}, {2, 5}, {3, 5}};
  const Matrix y{{2, -1}, {4, -2}, {6, -3}};
  CHECK(column_correlation(x, 0, y, 0) == doctest::Approx(1.0));
  CHECK(column_correlation(x, 0, y, 1) == doctest::Approx(-1.0));
  CHECK(column_correlation(x, 1, y, 0) == 0.0);
}

TEST_CASE("align_experts: relabelled seeds are matched back to the reference, with matched r 1 vs random below") {
  const Matrix seed0 = specialised();
  const Matrix seed1 = relabel(seed0, {2, 0, 3, 1});  // seed 1's expert 2 is seed 0's expert 0, ...
  const Matrix seed2 = relabel(seed0, {1, 2, 3, 0});
  const auto a = align_experts({seed0, seed1, seed2}, true);
  REQUIRE(a.expert_of.size() == 3);
  CHECK(a.expert_of[0] == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(a.expert_of[1] == std::vector<std::size_t>{2, 0, 3, 1});
  CHECK(a.expert_of[2] == std::vector<std::size_t>{1, 2, 3, 0});
  CHECK(a.matched_correlation == doctest::Approx(1.0));
  // Columns of this matrix: a column correlates 1 with itself and -1/3 with each of the other three (each has the
  // same two-level pattern on disjoint rows), so a random matching averages (1 + 3 * (-1/3)) / 4 = 0.
  CHECK(a.random_correlation == doctest::Approx(0.0).epsilon(1e-12));
  // After alignment every seed's matrix is the reference: mean equals it, std is 0.
  std::vector<Matrix> aligned;
  const std::vector<Matrix> seeds{seed0, seed1, seed2};
  for (std::size_t s = 0; s < 3; ++s)
    aligned.push_back(permute_columns(seeds[s], a.expert_of[s]));
  const auto stat = matrix_stat(aligned);
  for (std::size_t r = 0; r < 8; ++r) {
    for (std::size_t e = 0; e < 4; ++e) {
      CHECK(stat.mean[r][e] == doctest::Approx(seed0[r][e]));
      CHECK(stat.std[r][e] == doctest::Approx(0.0));
    }
  }
}

TEST_CASE("align_experts: without alignment the order is kept and the mean blurs the specialisation") {
  const Matrix seed0 = specialised();
  const Matrix seed1 = relabel(seed0, {1, 2, 3, 0});
  const auto a = align_experts({seed0, seed1}, false);
  CHECK_FALSE(a.aligned);
  CHECK(a.expert_of[1] == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(a.matched_correlation == doctest::Approx(-1.0 / 3));  // every column against another expert's
  const auto stat = matrix_stat({seed0, permute_columns(seed1, a.expert_of[1])});
  CHECK(stat.mean[0][0] == doctest::Approx((0.85 + 0.05) / 2));
}

TEST_CASE("align_experts: noisy seeds are still matched, and the random baseline stays near 0") {
  moexp::core::Random random(3);
  const Matrix seed0 = specialised();
  Matrix seed1 = relabel(seed0, {3, 2, 1, 0});
  for (auto& row : seed1)
    for (auto& v : row)
      v += random.uniform(-0.05, 0.05);
  const auto a = align_experts({seed0, seed1}, true);
  CHECK(a.expert_of[1] == std::vector<std::size_t>{3, 2, 1, 0});
  CHECK(a.matched_correlation > 0.95);
  CHECK(std::abs(a.random_correlation) < 0.1);
}

TEST_CASE("align_experts: one seed, empty input, unequal shapes") {
  const auto one = align_experts({specialised()}, true);
  CHECK(one.expert_of.size() == 1);
  CHECK(one.matched_correlation == 0.0);
  CHECK(align_experts({}, true).expert_of.empty());
  CHECK_THROWS_AS(align_experts({specialised(), Matrix(8, std::vector<double>(3, 0.3))}, true), std::invalid_argument);
  CHECK(permute({1, 2, 3}, {2, 0, 1}) == std::vector<double>{3, 1, 2});
}

TEST_CASE("alignment_null: planted structure shared by the seeds is matched far above its null, p at its floor") {
  moexp::core::Random random(11);
  const Matrix seed0 = specialised();
  std::vector<Matrix> seeds{seed0};
  for (const auto& order : {std::vector<std::size_t>{1, 0, 3, 2}, std::vector<std::size_t>{2, 3, 0, 1}}) {
    Matrix noisy = relabel(seed0, order);
    for (auto& row : noisy)
      for (auto& v : row)
        v += random.uniform(-0.05, 0.05);
    seeds.push_back(noisy);
  }
  const auto result = alignment_null(seeds);
  CHECK(result.observed > 0.9);
  CHECK(result.observed > result.null_mean + 5 * result.null_sd);
  CHECK(result.p_value == doctest::Approx(1.0 / 201));
  CHECK(result.permutations == moexp::kDefaultPermutations);
}

TEST_CASE("alignment_null: seeds with no shared structure match well above the all-pairs mean, and p is not small") {
  // Independent random routing per seed: any best matching is chance. The all-pairs mean (about 0) is the wrong
  // baseline; the null of the best matching itself sits well above it, and the observed value sits inside it.
  int not_small = 0;
  double null_mean = 0, all_pairs = 0;
  for (std::uint64_t s = 0; s < 20; ++s) {
    moexp::core::Random random(100 + s);
    std::vector<Matrix> seeds;
    for (int k = 0; k < 3; ++k) {
      Matrix m(8, std::vector<double>(4));
      for (auto& row : m)
        for (auto& v : row)
          v = random.uniform();
      seeds.push_back(m);
    }
    const auto result = alignment_null(seeds, 99, s);
    null_mean += result.null_mean / 20;
    all_pairs += align_experts(seeds, true).random_correlation / 20;
    not_small += result.p_value > 0.05 ? 1 : 0;
  }
  CHECK(null_mean > all_pairs + 0.2);
  CHECK(not_small >= 17);  // about 19 of 20 for a valid test
}

TEST_CASE("alignment_null: one seed or one group leaves nothing to compare") {
  CHECK(alignment_null({specialised()}).p_value == 1.0);
  CHECK(alignment_null({Matrix{{0.5, 0.5}}, Matrix{{0.5, 0.5}}}).permutations == 0);
}
