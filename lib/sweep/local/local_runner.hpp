// The local backend's runner of `moexp sweep` and its part of `moexp sweep status` (registered in run_sweep.cpp).
#pragma once

#include "config/sweep_spec.hpp"
#include "store/result_store.hpp"
#include "sweep/planner.hpp"
#include "sweep/run_sweep.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace moexp::sweep {

// Record a dead sweep's attempts, then run the plan's pending runs as child processes on this machine's slots.
int run_locally(const config::SweepSpec& spec, const Plan& plan, const SweepRequest& req);

// For `sweep status`: record the attempts whose sweep died before it could (reconcile_orphaned_claims; the journals
// are ingested already); returns how many.
std::size_t settle_local_for_status(store::ResultStore& db, const std::string& db_path, std::int64_t sweep_id,
                                    const std::string& name);

}  // namespace moexp::sweep
