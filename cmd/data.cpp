// moexp data fetch NAME... [--to DIR]   and   moexp data list [--to DIR]
#include "commands.hpp"

#include "fetch/commands.hpp"

namespace moexp::cli {

Action setup_data(CLI::App& app) {
  app.require_subcommand(1);
  auto fetch_req = std::make_shared<fetch::DataFetchRequest>();
  auto* fetch_cmd = app.add_subcommand("fetch", "download, verify and unpack datasets: cifar10, cifar100, mnist, "
                                                "fashion_mnist");
  fetch_cmd->add_option("datasets", fetch_req->datasets, "dataset names")->required();
  fetch_cmd->add_option("--to", fetch_req->to, "root folder (default: $MOEXP_DATA, else results/data)");
  auto list_req = std::make_shared<fetch::DataListRequest>();
  auto* list_cmd = app.add_subcommand("list", "which datasets are present, their sizes, and their checksums verified");
  list_cmd->add_option("--to", list_req->to, "root folder (default: $MOEXP_DATA, else results/data)");
  return [=] { return fetch_cmd->parsed() ? fetch::run_data_fetch(*fetch_req) : fetch::run_data_list(*list_req); };
}

} // namespace moexp::cli
