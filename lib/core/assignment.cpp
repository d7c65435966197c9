#include "core/assignment.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace moexp::core {

std::vector<std::size_t> max_score_assignment(const std::vector<std::vector<double>>& score) {
  const std::size_t n = score.size();
  if (n == 0) {
    return {};
  }
  const std::size_t m = score.front().size();
  for (const auto& row : score) {
    if (row.size() != m) {
      throw std::invalid_argument("max_score_assignment: rows of different lengths");
    }
    for (double v : row) {
      if (!std::isfinite(v)) {
        throw std::invalid_argument("max_score_assignment: a score is not finite");
      }
    }
  }
  if (n > m) {
    throw std::invalid_argument("max_score_assignment: more rows than columns");
  }
  // Minimise cost = -score. Rows and columns are 1-based here; index 0 is the virtual start column.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> row_potential(n + 1, 0.0), column_potential(m + 1, 0.0);
  std::vector<std::size_t> row_of_column(m + 1, 0), way(m + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    row_of_column[0] = i;
    std::size_t column = 0;
    std::vector<double> min_slack(m + 1, kInf);
    std::vector<bool> used(m + 1, false);
    do {
      used[column] = true;
      const std::size_t row = row_of_column[column];
      double delta = kInf;
      std::size_t next = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j]) {
          continue;
        }
        const double slack = -score[row - 1][j - 1] - row_potential[row] - column_potential[j];
        if (slack < min_slack[j]) {
          min_slack[j] = slack;
          way[j] = column;
        }
        if (min_slack[j] < delta) {
          delta = min_slack[j];
          next = j;
        }
      }
      for (std::size_t j = 0; j <= m; ++j) {
        if (used[j]) {
          row_potential[row_of_column[j]] += delta;
          column_potential[j] -= delta;
        } else {
          min_slack[j] -= delta;
        }
      }
      column = next;
    } while (row_of_column[column] != 0);
    do {  // flip the augmenting path back to the start
      const std::size_t previous = way[column];
      row_of_column[column] = row_of_column[previous];
      column = previous;
    } while (column != 0);
  }
  std::vector<std::size_t> column_of(n, 0);
  for (std::size_t j = 1; j <= m; ++j) {
    if (row_of_column[j] != 0) {
      column_of[row_of_column[j] - 1] = j - 1;
    }
  }
  return column_of;
}

}  // namespace moexp::core
