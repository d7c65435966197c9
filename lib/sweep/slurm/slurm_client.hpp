// The Slurm seam of the sweep: submit an array, read its tasks, cancel it. SlurmCli talks to a real cluster through
// sbatch / squeue / scontrol / scancel and the job-completion file; tests use a fake.
#pragma once

#include "sweep/slurm/slurm_records.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp::sweep {

class SlurmClient {
 public:
  virtual ~SlurmClient() = default;
  // Submit: `sbatch --parsable ARGS...` (ARGS end with the script). Returns the array job id; throws moexp::Error
  // with sbatch's own message when Slurm refuses the job.
  virtual std::int64_t submit(const std::vector<std::string>& args) = 0;
  // The tasks of array `array_job_id` Slurm still knows about (squeue, else scontrol, else the jobcomp file).
  // nullopt when Slurm could not be asked (controller down): nothing can be concluded this round.
  virtual std::optional<std::vector<slurm::TaskRecord>> tasks(std::int64_t array_job_id) = 0;
  // scancel the whole array.
  virtual void cancel(std::int64_t array_job_id) = 0;
};

class SlurmCli : public SlurmClient {
 public:
  std::int64_t submit(const std::vector<std::string>& args) override;
  std::optional<std::vector<slurm::TaskRecord>> tasks(std::int64_t array_job_id) override;
  void cancel(std::int64_t array_job_id) override;

 private:
  std::optional<std::string> jobcomp_path();
  std::optional<std::optional<std::string>> m_jobcomp;  // cached `scontrol show config` JobCompLoc
};

// True when `sbatch` is on PATH.
bool slurm_available();

}  // namespace moexp::sweep
