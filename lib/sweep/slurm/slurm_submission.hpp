// What a Slurm submission of a sweep consists of: the batch script that maps an array task to its run, the sbatch
// arguments, the task's own exit-code file, and how the evidence about a task turns into an attempt outcome.
// Pure functions (file writes aside); the executor drives them.
#pragma once

#include "config/sweep_spec.hpp"
#include "core/attempt_outcome.hpp"
#include "core/run_status.hpp"
#include "sweep/slurm/slurm_records.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moexp::sweep {

// Everything one array job needs. Paths are absolute: tasks run elsewhere.
struct ArrayJob {
  std::string sweep_name;
  std::vector<std::int64_t> run_ids;  // task i runs run_ids[i]
  std::filesystem::path moexp_exe;
  std::filesystem::path db_path;
  std::filesystem::path log_dir;  // the wrappers' own stdout/stderr (%A_%a.out / .err)
  std::string device;             // "cpu" or "cuda"
};

// The bash batch script: picks run_ids[$SLURM_ARRAY_TASK_ID], runs `moexp train --resume RUN` with the run's
// stdout/stderr in its folder, forwards SIGTERM to it, and records "code start end" in the run folder's
// slurm-<A>_<i>.exit (atomically) before exiting with the same code.
std::string batch_script(const ArrayJob& job);

// sbatch arguments (after --parsable) for `job` with its script at `script`: the array (with the %N throttle),
// --no-requeue, name, output files, the [slurm] options, --time (from slurm.time, else the executor timeout in
// minutes), the extra args, then the script.
std::vector<std::string> sbatch_arguments(const ArrayJob& job, const config::SlurmSettings& slurm, double timeout_s,
                                          const std::filesystem::path& script);

// Where a sweep's batch scripts and the wrappers' own output go: <db folder>/slurm/<sweep name as a folder name>.
std::filesystem::path slurm_log_dir(const std::filesystem::path& db_path, const std::string& sweep_name);

// The device runs use under Slurm: slurm.device, else "cuda" when gres names a GPU, else "cpu".
std::string slurm_device(const config::SlurmSettings& slurm);

// The exit-code file the wrapper of task `task` of array `array_job_id` writes in the run folder.
std::filesystem::path exit_file(const std::filesystem::path& run_dir, std::int64_t array_job_id, std::int64_t task);

struct TaskExit {
  int code = 0;
  double seconds = 0;
};
// Read an exit-code file; nullopt when absent or not yet complete.
std::optional<TaskExit> read_exit_file(const std::filesystem::path& path);

// What is known about one task when it is polled.
struct TaskEvidence {
  std::optional<slurm::TaskRecord> record;    // Slurm's record of the task (or of its whole array); none when absent
  std::optional<TaskExit> exit;               // the wrapper's own exit-code file
  RunStatus run_status = RunStatus::running;  // the run row's status now
  bool cancelled = false;                     // this sweep cancelled the array
};

// The attempt's outcome (finished | diverged | failed | timeout | interrupted), or nullopt while Slurm still has
// the task queued or running. The run's own record wins for finished/diverged; Slurm's TIMEOUT and CANCELLED
// come next; a task Slurm no longer knows, without an exit file, counts as interrupted when cancelled, else failed.
std::optional<AttemptOutcome> task_outcome(const TaskEvidence& evidence);

}  // namespace moexp::sweep
