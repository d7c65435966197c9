// Parsing Slurm's output, captured from the real one-node cluster (tests/data/slurm/README.md).
#include "sweep/slurm/slurm_records.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace moexp::sweep::slurm;

namespace {

std::string captured(const std::string& name) {
  return moexp::test::read_file(std::filesystem::path(MOEXP_SOURCE_DIR) / "tests/data/slurm" / name);
}

const TaskRecord& task(const std::vector<TaskRecord>& records, std::int64_t index) {
  for (const auto& r : records) {
    if (r.task == index) {
      return r;
    }
  }
  FAIL("no record for task " << index);
  throw;  // unreachable
}

}  // namespace

TEST_CASE("slurm: squeue lines give state, reason, exit code and signal per task") {
  auto running = parse_squeue(captured("squeue_running.txt"));
  REQUIRE(running.size() == 5);
  CHECK(running[0].task == 0);  // ordered by task
  CHECK(task(running, 0).state == "COMPLETED");
  CHECK(task(running, 0).exit_code == 0);
  CHECK(task(running, 1).state == "FAILED");
  CHECK(task(running, 1).reason == "NonZeroExitCode");
  CHECK(task(running, 1).exit_code == 3);  // raw wait status 768
  CHECK(task(running, 2).signal == 11);    // SEGV
  CHECK_FALSE(task(running, 2).exit_code);
  CHECK(task(running, 3).state == "RUNNING");
  CHECK_FALSE(task(running, 3).exit_code);  // not ended: no code

  auto final_ = parse_squeue(captured("squeue_final.txt"));
  CHECK(task(final_, 4).state == "CANCELLED");
  CHECK(task(final_, 4).signal == 15);

  auto throttled = parse_squeue(captured("squeue_throttled.txt"));
  CHECK(task(throttled, 2).state == "PENDING");
  CHECK(task(throttled, 2).reason == "JobArrayTaskLimit");
  CHECK_FALSE(is_terminal(task(throttled, 2).state));

  auto timeout = parse_squeue(captured("squeue_timeout.txt"));
  CHECK(task(timeout, 0).state == "TIMEOUT");
  CHECK(task(timeout, 1).reason == "TimeLimit");

  auto launch = parse_squeue(captured("squeue_launch_failure.txt"));
  CHECK(launch.size() == 5);
  CHECK(task(launch, 4).reason == "JobLaunchFailure");
}

TEST_CASE("slurm: scontrol one-line records, with compressed pending ranges") {
  auto final_ = parse_scontrol(captured("scontrol_final.txt"), 6);
  REQUIRE(final_.size() == 5);
  CHECK(task(final_, 1).state == "FAILED");
  CHECK(task(final_, 1).exit_code == 3);  // ExitCode=3:0
  CHECK(task(final_, 2).signal == 11);    // ExitCode=0:11
  CHECK(task(final_, 3).state == "CANCELLED");
  CHECK(parse_scontrol(captured("scontrol_final.txt"), 7).empty());  // other arrays are ignored

  auto cancelled = parse_scontrol(captured("scontrol_cancelled_pending.txt"), 11);
  REQUIRE(cancelled.size() == 4);  // ArrayTaskId=1-3%1 expands to three tasks
  CHECK(task(cancelled, 3).state == "CANCELLED");
  CHECK(task(cancelled, 0).state == "CANCELLED");

  auto timeout = parse_scontrol(captured("scontrol_timeout.txt"), 13);
  CHECK(task(timeout, 1).state == "TIMEOUT");
  CHECK(task(timeout, 1).signal == 15);
}

TEST_CASE("slurm: the jobcomp file per array, with the whole-array record of cancelled pending tasks") {
  const auto text = captured("jobcomp.txt");
  auto array6 = parse_jobcomp(text, 6);
  REQUIRE(array6.size() == 5);
  CHECK(task(array6, 0).state == "COMPLETED");
  CHECK(task(array6, 0).exit_code == 0);
  CHECK(task(array6, 1).exit_code == 3);
  CHECK(task(array6, 4).state == "CANCELLED");

  auto array11 = parse_jobcomp(text, 11);
  REQUIRE(array11.size() == 2);
  CHECK(array11[0].task == -1);  // "JobId=11 ... JobState=CANCELLED" with no ArrayTaskId
  CHECK(array11[0].state == "CANCELLED");
  CHECK(task(array11, 0).state == "CANCELLED");

  auto array13 = parse_jobcomp(text, 13);
  CHECK(task(array13, 0).state == "TIMEOUT");
  CHECK(task(array13, 1).state == "TIMEOUT");
  CHECK(parse_jobcomp(text, 99).empty());
}

TEST_CASE("slurm: sbatch answers, task ranges and terminal states") {
  CHECK(parse_sbatch_job_id("42\n") == 42);
  CHECK(parse_sbatch_job_id("42;cluster\n") == 42);
  CHECK_FALSE(parse_sbatch_job_id("sbatch: error: Batch job submission failed"));
  CHECK_FALSE(parse_sbatch_job_id(""));
  CHECK(expand_task_ranges("1-3%1") == std::vector<std::int64_t>{1, 2, 3});
  CHECK(expand_task_ranges("0,4,7-8") == std::vector<std::int64_t>{0, 4, 7, 8});
  CHECK(expand_task_ranges("x").empty());
  for (const char* state : {"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 0", "TIMEOUT", "NODE_FAIL",
                            "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}) {
    CHECK(is_terminal(state));
  }
  for (const char* state : {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", ""}) {
    CHECK_FALSE(is_terminal(state));
  }
}
