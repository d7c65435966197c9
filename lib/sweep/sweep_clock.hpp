// Time as the sweep executor sees it: the seam that makes its timeouts, grace periods and re-checks testable without
// waiting. SteadyClock is the real one; tests use a manual clock that moves only when the executor sleeps or waits.
#pragma once

#include <chrono>

namespace moexp::sweep {

class SweepClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~SweepClock() = default;

  // The current time.
  virtual time_point now() = 0;

  // Block for `duration` (the scheduler's idle poll).
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_for.
class SteadyClock : public SweepClock {
 public:
  time_point now() override;
  void sleep_for(std::chrono::milliseconds duration) override;
};

// The process-wide steady clock.
SweepClock& steady_clock();

}  // namespace moexp::sweep
