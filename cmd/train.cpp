// moexp train EXPERIMENT.toml [--set key=value]... [--db PATH] [--device D] [--resume RUN_ID]
#include "commands.hpp"

#include "core/error.hpp"
#include "torch_plugin.hpp"
#include "train/run.hpp"

#include <cstdint>
#include <filesystem>

namespace moexp::cli {

Action setup_train(CLI::App& app) {
  auto req = std::make_shared<train::TrainRequest>();
  auto resume = std::make_shared<std::int64_t>(0);
  app.add_option("experiment", req->experiment, "experiment TOML file (see docs/config.md)");
  app.add_option("--set", req->overrides, "override a key: --set moe.num_experts=10 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--db", req->db_path, "results database")->capture_default_str();
  app.add_option("--device", req->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  auto* resume_opt =
      app.add_option("--resume", *resume, "continue interrupted run RUN_ID from its checkpoint")->type_name("RUN_ID");
  auto claimed = std::make_shared<std::int64_t>(0);
  auto* claimed_opt = app.add_option("--claimed-by", *claimed,
                                     "(set by moexp sweep) the pid of the sweep that claimed "
                                     "the run; the run is taken only while its claim stands")
                          ->type_name("PID")
                          ->group("");  // internal: hidden from --help
  auto run_folder = std::make_shared<std::filesystem::path>();
  auto* run_folder_opt = app.add_option("--run-folder", *run_folder,
                                        "(set by moexp sweep) train the run set up in this folder and record it in "
                                        "its journal, never opening the database")
                             ->type_name("DIR")
                             ->group("");  // internal: hidden from --help
  app.footer("Exit codes: 0 finished, 1 failed, 2 bad input (nothing written), 3 diverged, 130 interrupted.");
  auto* db_opt = app.get_option("--db");
  return [req, resume, resume_opt, claimed, claimed_opt, run_folder, run_folder_opt, db_opt] {
    if (run_folder_opt->count() > 0) {
      if (resume_opt->count() == 0 || db_opt->count() > 0 || claimed_opt->count() > 0) {
        throw InputError(
            "train: --run-folder goes with --resume RUN_ID only (no --db: the run never opens a database)");
      }
      req->run_folder = *run_folder;
    }
    if (claimed_opt->count() > 0) {
      if (resume_opt->count() == 0) {
        throw InputError("train: --claimed-by goes with --resume (moexp sweep sets both)");
      }
      req->claimed_by = *claimed;
    }
    if (resume_opt->count() > 0) {
      if (!req->experiment.empty()) {
        throw InputError("train: give either an experiment file or --resume RUN_ID, not both");
      }
      req->resume_run = *resume;
    } else if (req->experiment.empty()) {
      throw InputError("train: an experiment file is required (e.g. moexp train experiments/fmnist_importance.toml)");
    }
    return plugin_run_train(*req);
  };
}

}  // namespace moexp::cli
