// A Launcher that starts no process: each job plays a scripted outcome and, like a real child, records its run's
// state in the store. Lets the executor be tested without processes or Torch.
#pragma once

#include "core/host.hpp"
#include "store/result_store.hpp"
#include "sweep/launcher.hpp"
#include "sweep/sweep_clock.hpp"

#include <csignal>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moexp::test {

// A clock that moves only when told: the executor's idle sleeps advance it, and so do FakeLauncher's waits that end
// with nothing (as a real wait blocks for its whole timeout). Tests of timeouts and re-checks run exactly, at once.
class ManualClock : public sweep::SweepClock {
 public:
  time_point now() override { return m_now; }
  void sleep_for(std::chrono::milliseconds duration) override { m_now += duration; }
  // Seconds since the clock was made.
  double elapsed_s() const { return std::chrono::duration<double>(m_now - time_point{}).count(); }

 private:
  time_point m_now{};
};

struct FakeBehaviour {
  int exit_code = 0;
  RunStatus final_status = RunStatus::finished;  // what the "child" records before exiting (finished/failed/diverged)
  int ticks = 2;                                 // wait_any calls before it ends (-1: only a signal ends it)
  bool honours_sigterm = true;                   // ends (as interrupted, exit 130) on SIGTERM
};

class FakeLauncher : public sweep::Launcher {
 public:
  explicit FakeLauncher(store::ResultStore& store) : m_store(store) {}

  // Behaviour of each attempt of `run_id`, in order (the last one repeats).
  std::map<std::int64_t, std::vector<FakeBehaviour>> script;
  std::vector<sweep::LaunchRequest> started;          // every start, in order
  std::vector<std::pair<std::int64_t, int>> signals;  // (run id, signal)
  std::vector<double> signal_times;                   // when each was sent, on `clock` (with a clock)
  std::size_t max_running = 0;

  std::int64_t start(const sweep::LaunchRequest& request) override {
    started.push_back(request);
    const auto run_id = std::stoll(request.argv.at(3));  // moexp train --resume ID ...
    auto& attempts = m_attempts[run_id];
    auto& plays = script[run_id];
    FakeBehaviour b = plays.empty() ? FakeBehaviour{} : plays[std::min(attempts, plays.size() - 1)];
    ++attempts;
    m_store.resume_run(run_id, 0, "cpu", core::host_name(), 0);
    const auto job = m_next++;
    m_jobs[job] = {run_id, b, b.ticks, 0};
    max_running = std::max(max_running, m_jobs.size());
    return job;
  }

  // When set, a wait that ends with nothing advances this clock by its timeout.
  ManualClock* clock = nullptr;

  std::optional<sweep::JobExit> wait_any(std::chrono::milliseconds timeout) override {
    for (auto& [job, state] : m_jobs) {
      if (state.pending_signal == SIGKILL || (state.pending_signal == SIGTERM && state.behaviour.honours_sigterm)) {
        sweep::JobExit exit{job, std::nullopt, std::nullopt};
        if (state.pending_signal == SIGTERM) {
          m_store.runs().finish(state.run_id, RunStatus::interrupted, "stopped by a signal");
          exit.exit_code = 130;
        } else {
          exit.signal = SIGKILL;
        }
        m_jobs.erase(job);
        return exit;
      }
    }
    for (auto& [job, state] : m_jobs) {
      if (state.ticks_left > 0 && --state.ticks_left == 0) {
        m_store.runs().finish(state.run_id, state.behaviour.final_status, state.behaviour.exit_code ? "boom" : "");
        sweep::JobExit exit{job, state.behaviour.exit_code, std::nullopt};
        m_jobs.erase(job);
        return exit;
      }
    }
    if (clock != nullptr) {
      clock->sleep_for(timeout);
    }
    return std::nullopt;
  }

  void signal(std::int64_t job, int sig) override {
    auto it = m_jobs.find(job);
    if (it != m_jobs.end()) {
      signals.emplace_back(it->second.run_id, sig);
      if (clock != nullptr) {
        signal_times.push_back(clock->elapsed_s());
      }
      it->second.pending_signal = sig;
    }
  }

 private:
  struct JobState {
    std::int64_t run_id;
    FakeBehaviour behaviour;
    int ticks_left;
    int pending_signal;
  };
  store::ResultStore& m_store;
  std::map<std::int64_t, JobState> m_jobs;
  std::map<std::int64_t, std::size_t> m_attempts;
  std::int64_t m_next = 1;
};

}  // namespace moexp::test
