// moexp runs [--where FILTER] [--sort KEY] [--limit N] [--format table|json|csv] [--db PATH]
#include "commands.hpp"

#include "report/commands.hpp"

namespace moexp::cli {

Action setup_runs(CLI::App& app) {
  auto req = std::make_shared<report::RunsRequest>();
  app.add_option("--where", req->where, "filter, e.g. \"status != 'finished' or test_acc < 0.5\"");
  app.add_option("--sort", req->sort, "sort key (id, status, test_acc, a config key; -KEY descending)")
      ->capture_default_str();
  app.add_option("--limit", req->limit, "show at most N runs");
  app.add_option("--format", req->format, "table, json or csv")->capture_default_str();
  app.add_option("--db", req->db_path, "results database")->capture_default_str();
  return [req] { return report::run_runs(*req); };
}

}  // namespace moexp::cli
