// The Slurm backend's runner of `moexp sweep` and its part of `moexp sweep status` (registered in run_sweep.cpp).
#pragma once

#include "config/sweep_spec.hpp"
#include "store/result_store.hpp"
#include "sweep/planner.hpp"
#include "sweep/run_sweep.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace moexp::sweep {

// Settle what ended since the last look, submit the rest of `plan` as one array, then watch (or detach). The dry
// run prints the sbatch line it would use.
int run_on_slurm(const config::SweepSpec& spec, const Plan& plan, const SweepRequest& req);

// For `sweep status`: settle the sweep's Slurm tasks that ended since the last look (when it has open tasks and
// Slurm is reachable; a line says which); returns how many attempts were recorded.
std::size_t settle_slurm_for_status(store::ResultStore& db, const std::string& db_path, std::int64_t sweep_id,
                                    const std::string& name);

}  // namespace moexp::sweep
