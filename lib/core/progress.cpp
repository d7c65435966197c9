#include "core/progress.hpp"

#include "core/clock.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace moexp::core {

bool is_terminal(std::FILE* stream) {
  return ::isatty(::fileno(stream)) == 1;
}

ProgressBar::ProgressBar(std::FILE* out, bool interactive) : m_out(out), m_interactive(interactive) {}

void ProgressBar::start(std::string label, long total) {
  m_label = std::move(label);
  m_total = total > 0 ? total : 1;
  m_next_quarter = 1;
  m_start = std::chrono::steady_clock::now();
  m_last_draw = {};
  m_drawn = false;
}

void ProgressBar::update(long done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - m_start).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(m_total);
  const double eta = done > 0 ? elapsed * (1.0 - fraction) / fraction : -1.0;
  if (m_interactive) {
    if (done < m_total && now - m_last_draw < std::chrono::milliseconds(100)) {
      return;
    }
    m_last_draw = now;
    constexpr int kWidth = 28;
    const int filled = static_cast<int>(fraction * kWidth);
    fmt::print(m_out, "\r\033[K{} [{}{}] {}/{} {} ETA {} {}", m_label, std::string(filled, '#'),
               std::string(kWidth - filled, '.'), done, m_total, format_duration(elapsed), format_duration(eta),
               status);
    std::fflush(m_out);
    m_drawn = true;
    return;
  }
  if (m_next_quarter <= 3 && fraction * 4 >= m_next_quarter && done < m_total) {
    while (m_next_quarter <= 3 && fraction * 4 >= m_next_quarter) {
      ++m_next_quarter;
    }
    fmt::print(m_out, "{} {:3.0f}% ({}/{}) elapsed {} ETA {} {}\n", m_label, fraction * 100, done, m_total,
               format_duration(elapsed), format_duration(eta), status);
    std::fflush(m_out);
  }
}

void ProgressBar::finish() {
  if (m_interactive && m_drawn) {
    fmt::print(m_out, "\r\033[K");
    std::fflush(m_out);
  }
}

}  // namespace moexp::core
