// Reading Slurm's own words: the task records of a job array as squeue, scontrol and the job-completion file
// (jobcomp/filetxt) print them, and sbatch's --parsable answer. Pure functions over captured text, no processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp::sweep::slurm {

// One array task as Slurm reports it.
struct TaskRecord {
  std::int64_t task = -1;        // array task index; -1: one record for the whole array (pending tasks cancelled)
  std::string state;             // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL, ...
  std::string reason;            // squeue/scontrol Reason ("" from jobcomp)
  std::optional<int> exit_code;  // the batch script's exit code, when it exited
  std::optional<int> signal;     // the signal that ended it, when one did
};

// True for states a task never leaves (COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED,
// BOOT_FAIL, DEADLINE). "CANCELLED by 0" counts as CANCELLED.
bool is_terminal(const std::string& state);

// `squeue -h -r -t all -j A -O 'ArrayTaskID:|,State:|,Reason:|,exit_code:'`: one "task|state|reason|wait-status"
// line per task; the last field is a raw wait status (code = v >> 8, signal = v & 0x7f).
std::vector<TaskRecord> parse_squeue(const std::string& text);

// `scontrol -o show job A`: one key=value line per task of array A (pending tasks may share one line with a range
// such as ArrayTaskId=1-3%1, expanded here). ExitCode=code:signal.
std::vector<TaskRecord> parse_scontrol(const std::string& text, std::int64_t array_job_id);

// The jobcomp/filetxt file: one line per ended task, appended. Lines of array A carry ArrayJobId=A ArrayTaskId=i;
// pending tasks cancelled together leave one line "JobId=A ..." without ArrayTaskId (task = -1). Later lines win.
std::vector<TaskRecord> parse_jobcomp(const std::string& text, std::int64_t array_job_id);

// sbatch --parsable prints "ID" or "ID;cluster". nullopt when it is not that.
std::optional<std::int64_t> parse_sbatch_job_id(const std::string& text);

// `--array` task list "0-3", "1,4,7-9", with an optional "%N" throttle, as indices.
std::vector<std::int64_t> expand_task_ranges(const std::string& text);

}  // namespace moexp::sweep::slurm
