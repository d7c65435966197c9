// A tiny local sweep for the e2e tests: six synthetic runs (3 seeds x 2 constraint kinds) on two slots, run through
// the real binary, with helpers to kill the sweep at a chosen moment and check that a rerun completes it.
#pragma once

#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <sys/types.h>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace moexp::test {

struct SweepDir {
  TempDir dir;
  std::filesystem::path spec;
  std::string db_path = (dir / "results/moexp.db").string();
  // `executor_extra`: more [executor] lines ("journal = true\n").
  explicit SweepDir(int epochs, const std::string& executor_extra = "");
  std::vector<std::string> sweep_argv(std::vector<std::string> extra = {}) const;
  ProcessResult sweep(std::vector<std::string> extra = {}) const;
};

// The rows of runs 1..6 and the sweep's pid; true when the moment to act has come.
using SweepMoment = std::function<bool(const std::vector<store::RunRow>& rows, pid_t sweep)>;

// Poll the run rows of `d`'s database (every 5 ms, for at most 60 s) until `moment` holds; returns whether it came.
bool wait_for_moment(const SweepDir& d, pid_t sweep, const SweepMoment& moment);

// Start the sweep of `d`, SIGKILL the sweep process (only it: its children get SIGTERM through PR_SET_PDEATHSIG) as
// soon as `moment` holds, and reap it. Returns whether the moment came.
bool kill_sweep_when(SweepDir& d, const SweepMoment& moment);

// After a killed sweep: a rerun ends within 240 s (no hang on the dead sweep's claims) with every run finished
// exactly once (`epochs` epochs each), and every run has its attempts recorded.
void check_rerun_completes(SweepDir& d, int epochs);

}  // namespace moexp::test
