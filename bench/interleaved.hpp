// Timing for the Torch benches: steps that take turns within each round, so that drift in a shared VM's speed
// (10-40 % within minutes) affects them alike.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace moexp::bench {

// Median seconds of each of `steps` over `rounds` rounds after 3 warm-up rounds. Each round starts one step later
// than the one before (the step run first in a round measured up to 8 % slower in bench/model_step.cpp).
inline std::vector<double> interleaved_medians(int rounds, const std::vector<std::function<void()>>& steps) {
  std::vector<std::vector<double>> times(steps.size());
  for (int i = 0; i < rounds + 3; ++i) {
    for (std::size_t j = 0; j < steps.size(); ++j) {
      const std::size_t s = (j + static_cast<std::size_t>(i)) % steps.size();
      const auto start = std::chrono::steady_clock::now();
      steps[s]();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (i >= 3) {
        times[s].push_back(seconds);
      }
    }
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

}  // namespace moexp::bench
