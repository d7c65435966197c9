// The process seam of the sweep executor: start a child from an argv vector, wait for any child, signal one.
// ProcessLauncher is the real one (Boost.Process); tests use a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moexp::sweep {

struct LaunchRequest {
  std::vector<std::string> argv;                         // argv[0] is the program; never a shell string
  std::vector<std::pair<std::string, std::string>> env;  // set on top of this process's environment
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
};

struct JobExit {
  std::int64_t job = 0;
  std::optional<int> exit_code;  // when it exited
  std::optional<int> signal;     // when a signal ended it
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Start a child; returns its job id. Throws moexp::Error when it cannot be started.
  virtual std::int64_t start(const LaunchRequest& request) = 0;
  // A job that has ended, or nullopt when none ended within `timeout`.
  virtual std::optional<JobExit> wait_any(std::chrono::milliseconds timeout) = 0;
  // Send `sig` to a running job (no-op when it has ended).
  virtual void signal(std::int64_t job, int sig) = 0;
};

// Children get their own stdout/stderr files and receive SIGTERM when the launching process dies.
class ProcessLauncher : public Launcher {
 public:
  ProcessLauncher();
  ~ProcessLauncher() override;
  std::int64_t start(const LaunchRequest& request) override;
  std::optional<JobExit> wait_any(std::chrono::milliseconds timeout) override;
  void signal(std::int64_t job, int sig) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace moexp::sweep
