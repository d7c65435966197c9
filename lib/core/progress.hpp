// A progress display: a redrawn bar with ETA on a terminal, periodic plain lines otherwise.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace moexp::core {

class ProgressBar {
 public:
  // Draw to `out`; `interactive` selects the redrawn bar (use is_terminal(out)).
  ProgressBar(std::FILE* out, bool interactive);

  // Start a new phase of `total` steps labelled `label` (e.g. "epoch 3/10").
  void start(std::string label, long total);

  // Report `done` of the phase's steps, with `status` text (loss, accuracy) shown after the bar.
  // On a terminal it redraws at most every 100 ms; otherwise it prints a line at every 25 %.
  void update(long done, const std::string& status);

  // End the phase: clear the bar (terminal) so the caller can print the phase's summary line.
  void finish();

 private:
  std::FILE* m_out;
  bool m_interactive;
  std::string m_label;
  long m_total = 0;
  int m_next_quarter = 1;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last_draw;
  bool m_drawn = false;
};

// True when `stream` is a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace moexp::core
