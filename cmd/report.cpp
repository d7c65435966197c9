// moexp report [SWEEP] [--where FILTER] [--by KEYS] [--metrics LIST] [--format FMT] [--out PATH] [--db PATH]
//              [--compare A B | --compare-all BASELINE] [--no-align] [--per-epoch]
#include "commands.hpp"

#include "core/text.hpp"
#include "report/commands.hpp"
#include "report/render.hpp"

#include <cstdint>

namespace moexp::cli {

Action setup_report(CLI::App& app) {
  auto req = std::make_shared<report::ReportRequest>();
  app.add_option("sweep", req->sweep, "sweep name or spec file (default: every run)");
  app.add_option("--where", req->where, "filter, e.g. \"constraint.kind = 'relative' and moe.num_experts in (4, 10)\"");
  app.add_option("--by", req->by,
                 "group keys (default: constraint.kind,moe.num_experts + dataset/arch/position when "
                 "they vary)")
      ->delimiter(',');
  app.add_option("--metrics,--metric", req->metrics,
                 "metrics (default: all): test_acc,best_test_acc,importance_cv,...; --compare uses the first")
      ->delimiter(',');
  app.add_option("--format", req->format, core::join_alternatives(report::report_formats(), false))
      ->capture_default_str();
  app.add_option("--out", req->out, "write to this file instead of stdout");
  app.add_option("--compare", req->compare, "paired-by-seed comparison of two schemes (B - A) with a t-test")
      ->expected(2)
      ->type_name("A B");
  app.add_option("--compare-all", req->compare_all,
                 "every other scheme against this baseline, paired by seed, with Holm-corrected p-values")
      ->type_name("BASELINE");
  app.add_flag(
      "--no-align", [req](std::int64_t) { req->align = false; },
      "routing figures over seeds: average experts by index instead of aligning them first");
  app.add_flag("--per-epoch", req->per_epoch, "with --format csv: the metrics per epoch (mean, std, ci95, n)");
  app.add_flag("--all-runs", req->all_runs, "with a sweep: also its runs that the current spec no longer plans");
  app.add_option("--db", req->db_path, "results database")->capture_default_str();
  return [req] { return report::run_report(*req); };
}

}  // namespace moexp::cli
