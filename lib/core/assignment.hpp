// The assignment problem: the one-to-one pairing of rows with columns of a score matrix that maximises the total
// score (Hungarian algorithm, Kuhn-Munkres with potentials, O(n^2 m)). Hand-written: Debian has no small C++ library
// for it, and the report aligns experts (at most a few dozen) with it.
#pragma once

#include <cstddef>
#include <vector>

namespace moexp::core {

// For an n x m matrix `score` (n <= m, rows of equal length, finite values): column_of[i] for every row i, distinct
// columns, maximising the sum of score[i][column_of[i]]. Ties are broken deterministically. Throws
// std::invalid_argument for ragged rows, n > m or a non-finite score.
std::vector<std::size_t> max_score_assignment(const std::vector<std::vector<double>>& score);

}  // namespace moexp::core
