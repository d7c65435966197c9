#include "sweep/local/live_display.hpp"

#include "core/clock.hpp"

#include <fmt/format.h>

namespace moexp::sweep {

LiveDisplay::LiveDisplay(std::FILE* out, store::MetricStore& metrics, const std::vector<Slot>& slots, std::size_t total)
    : m_out(out), m_metrics(metrics), m_total(total) {
  for (const auto& slot : slots) {
    m_slot_names.push_back(slot.name);
  }
}

void LiveDisplay::on_event(const ExecutorEvent& e) {
  if (e.kind == ExecutorEvent::Kind::started) {
    m_slots[e.slot] = {e.run_id, e.label, std::chrono::steady_clock::now()};
  } else if (e.kind == ExecutorEvent::Kind::ended) {
    m_slots.erase(e.slot);
    if (!e.will_retry) {
      (e.outcome == AttemptOutcome::finished ? m_finished : is_retryable(e.outcome) ? m_failed : m_other)++;
    }
  }
  tick(true);
}

void LiveDisplay::tick(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - m_last_draw < std::chrono::seconds(1)) {
    return;
  }
  m_last_draw = now;
  std::string text;
  if (m_lines_drawn > 0) {
    text += fmt::format("\033[{}A", m_lines_drawn);
  }
  for (const auto& name : m_slot_names) {
    auto it = m_slots.find(name);
    if (it == m_slots.end()) {
      text += fmt::format("\r\033[K{:<8} idle\n", name);
      continue;
    }
    const auto& s = it->second;
    const auto last = m_metrics.last(s.run_id, "test_acc");
    const std::string progress =
        last ? fmt::format("epoch {} test acc {:.2f}%", last->first, 100 * last->second) : std::string("epoch 0");
    const double elapsed = std::chrono::duration<double>(now - s.started).count();
    text += fmt::format("\r\033[K{:<8} run {:<5} {:<28} {:>7}  {}\n", name, s.run_id, progress,
                        core::format_duration(elapsed), s.label.substr(0, 70));
  }
  const std::size_t ended = m_finished + m_failed + m_other;
  const std::size_t running = m_slots.size();
  const std::size_t pending = m_total > ended + running ? m_total - ended - running : 0;
  const double elapsed = std::chrono::duration<double>(now - m_start).count();
  const double eta = ended > 0 ? elapsed / static_cast<double>(ended) * static_cast<double>(m_total - ended) : -1;
  constexpr int kWidth = 30;
  const int filled = m_total ? static_cast<int>(kWidth * ended / m_total) : kWidth;
  text += fmt::format("\r\033[K[{}{}] {}/{}  finished {}  failed {}  other {}  running {}  pending {}  {}  ETA {}\n",
                      std::string(filled, '#'), std::string(kWidth - filled, '.'), ended, m_total, m_finished, m_failed,
                      m_other, running, pending, core::format_duration(elapsed), core::format_duration(eta));
  m_lines_drawn = static_cast<int>(m_slot_names.size()) + 1;
  std::fputs(text.c_str(), m_out);
  std::fflush(m_out);
}

void LiveDisplay::close() {
  tick(true);
  std::fputs("\n", m_out);
  std::fflush(m_out);
}

}  // namespace moexp::sweep
