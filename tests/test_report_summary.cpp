#include "core/error.hpp"
#include "report/compare.hpp"
#include "report/render.hpp"
#include "report/summary.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace moexp;
using namespace moexp::report;

namespace {

store::RunSummary run(const std::string& kind, int experts, std::optional<double> acc,
                      RunStatus status = RunStatus::finished) {
  store::RunSummary r;
  r.status = status;
  r.params = {{"constraint.kind", "'" + kind + "'"},
              {"moe.num_experts", std::to_string(experts)},
              {"moe.enabled", "true"},
              {"moe.position", "[1]"},
              {"data.dataset", "'fashion_mnist'"}};
  if (acc) {
    r.metrics["test_acc"] = *acc;
  }
  r.metrics["importance_cv"] = 0.5;
  return r;
}

ReportTable fixture() {
  std::vector<store::RunSummary> runs{run("kl", 4, 0.80),
                                      run("kl", 4, 0.82),
                                      run("kl", 4, 0.84),
                                      run("relative", 4, 0.90),
                                      run("relative", 4, std::nullopt, RunStatus::failed),
                                      run("relative", 10, 0.70, RunStatus::diverged)};
  return summarize(runs, default_group_keys(runs), {"test_acc", "importance_cv"});
}

}  // namespace

TEST_CASE("report: mean, sample std and the t-based 95% CI, checked by hand") {
  auto s = aggregate({1.0, 2.0, 3.0});
  CHECK(s.n == 3);
  CHECK(s.mean == doctest::Approx(2.0));
  CHECK(s.std == doctest::Approx(1.0));
  CHECK(s.ci95 == doctest::Approx(4.303 / std::sqrt(3.0)));
  auto one = aggregate({5.0});
  CHECK(one.std == 0.0);
  CHECK(one.ci95 == 0.0);
}

TEST_CASE("report: groups by scheme and experts, and failed and diverged runs are counted, not averaged") {
  auto t = fixture();
  CHECK(t.by == std::vector<std::string>{"constraint.kind", "moe.num_experts"});
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0].key_values == std::vector<std::string>{"kl", "4"});
  CHECK(t.rows[0].stats[0]->mean == doctest::Approx(82.0));
  CHECK(t.rows[0].stats[0]->std == doctest::Approx(2.0));
  CHECK(t.rows[1].finished == 1);
  CHECK(t.rows[1].failed == 1);
  CHECK(t.rows[2].diverged == 1);
  CHECK_FALSE(t.rows[2].stats[0].has_value());
  CHECK_THROWS_AS(summarize({}, {}, {"accuracy"}), InputError);
}

TEST_CASE("report: golden outputs in every format") {
  auto t = fixture();
  CHECK(render_text(t) ==
        "constraint.kind  moe.num_experts  final acc (%)  importance CV  n\n"
        "---------------  ---------------  -------------  -------------  -------------\n"
        "kl                             4   82.00 ± 2.00  0.500 ± 0.000              3\n"
        "relative                       4          90.00          0.500    1 +1 failed\n"
        "relative                      10              -              -  0 +1 diverged\n");
  CHECK(render_markdown(t) ==
        "| constraint.kind | moe.num_experts | final acc (%) | importance CV | n |\n"
        "|---|---|---:|---:|---:|\n"
        "| kl | 4 | 82.00 ± 2.00 | 0.500 ± 0.000 | 3 |\n"
        "| relative | 4 | 90.00 | 0.500 | 1 +1 failed |\n"
        "| relative | 10 | - | - | 0 +1 diverged |\n");
  CHECK(render_csv(t).find("constraint.kind,moe.num_experts,test_acc_mean,test_acc_std,test_acc_ci95,test_acc_n,") ==
        0);
  CHECK(render_csv(t).find("\nrelative,10,,,,0,,,,0,1,0,0,1,0\n") != std::string::npos);
  CHECK(render_json(t).find("{\"group\": {\"constraint.kind\": \"kl\", \"moe.num_experts\": \"4\"}, \"metrics\": "
                            "{\"test_acc\": {\"mean\": 82") != std::string::npos);
  CHECK(render_latex(t) ==
        "\\begin{tabular}{llrrr}\n\\toprule\n"
        "constraint.kind & moe.num\\_experts & final acc (\\%) & importance CV & n \\\\\n"
        "\\midrule\n"
        "kl & 4 & 82.00 $\\pm$ 2.00 & 0.500 $\\pm$ 0.000 & 3 \\\\\n"
        "relative & 4 & 90.00 & 0.500 & 1 +1 failed \\\\\n"
        "relative & 10 & - & - & 0 +1 diverged \\\\\n"
        "\\bottomrule\n\\end{tabular}\n");
  auto html = render_html(t, "title <x>");
  CHECK(html.find("<title>title &lt;x&gt;</title>") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  // One expert count with finished runs: the first metric per scheme as points (no line against experts).
  CHECK(html.find("final acc (%) per scheme (mean ± std over seeds)") != std::string::npos);
  CHECK(html.find("<circle") != std::string::npos);
  CHECK(html.find("vs experts</h2>") == std::string::npos);
  CHECK(html.find("<div class=\"table-wrap\">") != std::string::npos);
  CHECK(html.find("http") == html.find("http://www.w3.org/2000/svg"));  // no network references besides the SVG ns
  CHECK_THROWS_AS(render(t, "pdf", ""), InputError);
  // Every format of the registry renders through render(), by name and by alias.
  CHECK(report_formats() == std::vector<std::string>{"text", "markdown", "csv", "json", "latex", "html"});
  for (const auto& f : report_format_table()) {
    CHECK(find_report_format(f.name) == &f);
    CHECK_FALSE(render(t, std::string(f.name), "title").empty());
  }
  CHECK(find_report_format("md") == find_report_format("markdown"));
  CHECK(render(t, "md", "") == render_markdown(t));
  CHECK(render(t, "html", "title <x>") == html);
}

TEST_CASE("report: a p-value column shows the largest p over the seeds, in every format") {
  std::vector<store::RunSummary> runs{run("kl", 4, 0.8), run("kl", 4, 0.8), run("kl", 4, 0.8)};
  const double p[] = {1.0 / 201, 0.02, 0.3};
  for (int i = 0; i < 3; ++i) {
    runs[static_cast<std::size_t>(i)].metrics["size_mi_p"] = p[i];
    runs[static_cast<std::size_t>(i)].metrics["size_mi"] = 0.2 + 0.1 * i;
  }
  const auto t = summarize(runs, default_group_keys(runs), {"size_mi", "size_mi_p"});
  REQUIRE(t.rows.size() == 1);
  CHECK(render_text(t).find("0.300 ± 0.100") != std::string::npos);  // a figure: mean ± std
  CHECK(render_text(t).find("<= 0.300") != std::string::npos);       // a p-value: every seed at most 0.3
  CHECK(render_markdown(t).find("| <= 0.300 |") != std::string::npos);
  const auto given = summarize(runs, default_group_keys(runs), {"size_given_level_p"});
  CHECK(render_markdown(given).find("| size\\|level p |") != std::string::npos);  // the title's '|' escaped
  CHECK(render_latex(t).find("$\\le$ 0.300") != std::string::npos);
  CHECK(render_json(t).find("\"size_mi_p\": {\"mean\": ") != std::string::npos);
  CHECK(render_json(t).find("\"max\": 0.3, \"n\": 3}") != std::string::npos);
  CHECK(render_json(t).find("\"size_mi\": {\"mean\": 0.3") != std::string::npos);
}

TEST_CASE("report compare: the t-test p-value matches tables") {
  CHECK(t_test_p_value(0.0, 5) == doctest::Approx(1.0));
  CHECK(t_test_p_value(12.706, 1) == doctest::Approx(0.05).epsilon(0.001));
  CHECK(t_test_p_value(2.0, 10) == doctest::Approx(0.0734).epsilon(0.001));
  CHECK(t_test_p_value(-2.228, 10) == doctest::Approx(0.05).epsilon(0.001));
}

TEST_CASE("report compare: runs pair by seed within a group, B - A") {
  std::vector<store::RunSummary> runs;
  const double a[] = {0.80, 0.82, 0.84}, b[] = {0.83, 0.84, 0.88};
  for (int seed = 0; seed < 3; ++seed) {
    auto ra = run("kl", 4, a[seed]);
    ra.params["train.seed"] = std::to_string(seed);
    auto rb = run("relative", 4, b[seed]);
    rb.params["train.seed"] = std::to_string(seed);
    runs.push_back(ra);
    runs.push_back(rb);
  }
  runs.push_back(run("relative", 4, std::nullopt, RunStatus::failed));
  auto t = compare_schemes(runs, {"constraint.kind", "moe.num_experts"}, "kl", "relative", "test_acc");
  REQUIRE(t.rows.size() == 1);
  const auto& r = t.rows[0];
  CHECK(r.pairs == 3);
  CHECK(r.mean_diff == doctest::Approx(3.0));  // diffs 3, 2, 4 percentage points
  CHECK(r.std_diff == doctest::Approx(1.0));
  CHECK(r.t == doctest::Approx(3.0 / (1.0 / std::sqrt(3.0))));
  CHECK(r.p == doctest::Approx(t_test_p_value(r.t, 2)));
  CHECK(r.p < 0.05);
  CHECK(render_compare(t, false).find("relative vs kl (final acc (%)), paired by seed:") == 0);
  CHECK_THROWS_AS(compare_schemes(runs, {}, "kl", "absolute", "test_acc"), InputError);
}

TEST_CASE("report: a run's task comes from its dataset, not from which metrics it happened to store") {
  store::RunSummary detection;
  detection.params = {{"data.dataset", "\"shapes\""}};  // no epoch stored yet: no test_ap either
  CHECK(task_of(detection) == TaskKind::detection);
  store::RunSummary classification;
  classification.params = {{"data.dataset", "\"cifar10\""}};
  classification.metrics = {{"test_ap", 0.5}};  // a metric name does not make it a detection run
  CHECK(task_of(classification) == TaskKind::classification);
  CHECK(task_of(store::RunSummary{}) == TaskKind::classification);
  CHECK(moe_layer_label(TaskKind::detection, kBoxHeadPosition) == "box_head");
  CHECK(moe_layer_label(TaskKind::classification, 3) == "3");
  CHECK(task_info(TaskKind::detection).primary_metric == "test_ap");
}
