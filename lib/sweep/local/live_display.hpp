// The sweep's terminal display: one line per slot (run, epoch, test accuracy) and an overall bar (finished /
// failed / running / pending, ETA), redrawn in place about once a second. Off a terminal the sweep prints plain
// event lines instead.
#pragma once

#include "store/metric_store.hpp"
#include "sweep/local/executor.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace moexp::sweep {

class LiveDisplay {
 public:
  LiveDisplay(std::FILE* out, store::MetricStore& metrics, const std::vector<Slot>& slots, std::size_t total);

  // Record an executor event (start/end/wait).
  void on_event(const ExecutorEvent& event);

  // Redraw when a second has passed since the last drawing (or always with `force`).
  void tick(bool force = false);

  // Leave the display (the final table is printed below it).
  void close();

 private:
  struct SlotState {
    std::int64_t run_id = 0;
    std::string label;
    std::chrono::steady_clock::time_point started;
  };
  std::FILE* m_out;
  store::MetricStore& m_metrics;
  std::vector<std::string> m_slot_names;
  std::map<std::string, SlotState> m_slots;
  std::size_t m_total;
  std::size_t m_finished = 0, m_failed = 0, m_other = 0;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point m_last_draw{};
  int m_lines_drawn = 0;
};

}  // namespace moexp::sweep
