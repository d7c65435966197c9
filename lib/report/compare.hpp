// Paired comparison of two constraint schemes: runs of scheme A and B with the same other settings and the same
// seed form a pair; per group, the mean difference B - A of a metric with a paired t-test.
#pragma once

#include "report/summary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp::report {

struct CompareRow {
  std::vector<std::string> key_values;  // the group (group keys other than constraint.kind)
  std::string b;                        // the scheme compared with A (the table's b, or each one with --compare-all)
  std::int64_t pairs = 0;
  double mean_a = 0, mean_b = 0;
  double mean_diff = 0;  // mean of (B - A) over pairs, in the metric's display scale
  double std_diff = 0;
  double ci95 = 0;  // half-width of the 95% confidence interval of mean_diff (Student t, pairs - 1 df)
  double t = 0;
  double p = 1;                  // two-sided; 1 when fewer than 2 pairs or no spread
  std::optional<double> p_holm;  // with several comparisons: Holm-corrected p over the table's rows
  double effect = 0;             // Cohen's d_z: mean_diff / std_diff (0 without spread)
};

struct CompareTable {
  std::string a, b;  // b is "" for --compare-all (each row names its scheme)
  MetricSpec metric;
  std::vector<std::string> by;
  std::vector<CompareRow> rows;
};

// Two-sided p-value of Student's t with `df` degrees of freedom.
double t_test_p_value(double t, double df);

// Pair finished runs of schemes `a` and `b` by seed within groups of `by` (constraint.kind is dropped from `by`).
CompareTable compare_schemes(const std::vector<store::RunSummary>& runs, std::vector<std::string> by,
                             const std::string& a, const std::string& b, const std::string& metric);

// Holm's step-down correction of `p` (same order): the i-th smallest p times (m - i), made monotone, capped at 1.
std::vector<double> holm_adjust(const std::vector<double>& p);

// Every scheme other than `baseline` (dense included) compared with it as compare_schemes does, one row per group
// and scheme, with Holm-corrected p-values over all rows that have a test. Throws InputError when no scheme pairs.
CompareTable compare_all_schemes(const std::vector<store::RunSummary>& runs, std::vector<std::string> by,
                                 const std::string& baseline, const std::string& metric);

// The comparison as a text table (`markdown`: as a Markdown table).
std::string render_compare(const CompareTable& table, bool markdown);

}  // namespace moexp::report
