// core::max_score_assignment against exhaustive search over every permutation.
#include "core/assignment.hpp"
#include "core/random.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

using moexp::core::max_score_assignment;

namespace {

// The best total over every injective row -> column map (n <= m, small).
double brute_force_best(const std::vector<std::vector<double>>& score) {
  const std::size_t n = score.size(), m = score.front().size();
  std::vector<std::size_t> columns(m);
  std::iota(columns.begin(), columns.end(), 0);
  double best = -1e300;
  do {  // permutations of all m columns; the first n are the rows' columns
    double total = 0;
    for (std::size_t i = 0; i < n; ++i)
      total += score[i][columns[i]];
    best = std::max(best, total);
  } while (std::next_permutation(columns.begin(), columns.end()));
  return best;
}

double total_of(const std::vector<std::vector<double>>& score, const std::vector<std::size_t>& column_of) {
  double total = 0;
  for (std::size_t i = 0; i < column_of.size(); ++i)
    total += score[i][column_of[i]];
  return total;
}

}  // namespace

TEST_CASE("max_score_assignment: a hand-checked 3 x 3 case") {
  // Rows want columns 2, 0, 1: 9 + 8 + 7 = 24; the greedy row-by-row choice (row 0 takes 9, row 1 then 6...) is
  // not what decides it, the total is.
  const std::vector<std::vector<double>> score{{1, 2, 9}, {8, 1, 6}, {3, 7, 5}};
  CHECK(max_score_assignment(score) == std::vector<std::size_t>{2, 0, 1});
}

TEST_CASE("max_score_assignment: greedy is wrong here, the assignment is not") {
  // Greedy takes (0,0)=10 and leaves (1,1)=1: 11. The optimum is (0,1)+(1,0) = 9 + 9 = 18.
  const std::vector<std::vector<double>> score{{10, 9}, {9, 1}};
  CHECK(max_score_assignment(score) == std::vector<std::size_t>{1, 0});
}

TEST_CASE("max_score_assignment: equals exhaustive search on random square and rectangular matrices") {
  moexp::core::Random random(7);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = 1 + random.below(6);
    const std::size_t m = n + random.below(3);
    std::vector<std::vector<double>> score(n, std::vector<double>(m));
    for (auto& row : score) {
      for (auto& v : row)
        v = trial % 3 == 0 ? static_cast<double>(random.below(4)) : random.uniform() * 2 - 1;
    }
    const auto column_of = max_score_assignment(score);
    REQUIRE(column_of.size() == n);
    auto sorted = column_of;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    CHECK(sorted.back() < m);
    CHECK(total_of(score, column_of) == doctest::Approx(brute_force_best(score)).epsilon(1e-12));
  }
}

TEST_CASE("max_score_assignment: empty input, identity on a diagonal, bad shapes refused") {
  CHECK(max_score_assignment({}).empty());
  CHECK(max_score_assignment({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}) == std::vector<std::size_t>{0, 1, 2});
  CHECK_THROWS_AS(max_score_assignment({{1, 2}, {3}}), std::invalid_argument);
  CHECK_THROWS_AS(max_score_assignment({{1}, {2}}), std::invalid_argument);
  CHECK_THROWS_AS(max_score_assignment({{1, std::numeric_limits<double>::infinity()}}), std::invalid_argument);
}
