// SIGINT / SIGTERM as a stop request: the train and sweep commands poll one process-wide flag between batches or
// executor events instead of dying mid-write.
#pragma once

#include <atomic>
#include <csignal>

namespace moexp::core {

// While in scope, SIGINT and SIGTERM set the flag (cleared on construction); the previous handlers come back on
// destruction.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // True once a signal arrived.
  const std::atomic<bool>& flag() const;

 private:
  struct sigaction m_old_int {};
  struct sigaction m_old_term {};
};

}  // namespace moexp::core
