// Starting the moexp binary from tests: argv vectors (never a shell), output captured to files.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::test {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  bool timed_out = false;  // killed (SIGKILL) after the run's time limit
};

// Start `argv` (argv[0] is the program path) with stdout/stderr redirected to `out_file`/`err_file`; returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out_file,
            const std::filesystem::path& err_file);

// Wait for `pid`; returns its exit status, or 128 + signal.
int wait_for(pid_t pid);

// Run `argv` to completion in scratch files under `dir`; with `limit_s` > 0, kill it (timed_out) after that long,
// so a hang fails its test instead of stalling the suite.
ProcessResult run(const std::vector<std::string>& argv, const std::filesystem::path& dir, double limit_s = 0);

}  // namespace moexp::test
