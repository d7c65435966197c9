#include "sweep/sweep_clock.hpp"

#include <chrono>
#include <thread>

namespace moexp::sweep {

SweepClock::time_point SteadyClock::now() {
  return std::chrono::steady_clock::now();
}

void SteadyClock::sleep_for(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

SweepClock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace moexp::sweep
