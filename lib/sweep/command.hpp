// Run a short command to completion and capture what it prints (sbatch, squeue, scontrol, scancel). argv vectors
// only, never a shell string.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace moexp::sweep {

struct CommandResult {
  int exit_code = -1;  // -1 when it did not run to an exit
  std::string out, err;
  bool not_found = false;  // argv[0] is not on PATH
  bool timed_out = false;  // killed after the timeout
};

// Run argv (argv[0] looked up on PATH) with stdin closed; kill it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout);

}  // namespace moexp::sweep
