// A Launcher that starts no process: each job plays a scripted outcome and, like a real child, records its run's
// state in the store, or, started with --run-folder, in its journal there (a start with the uid the sweep wrote, an
// epoch per wait, its end). Lets the executor be tested without processes or Torch.
#pragma once

#include "core/atomic_file.hpp"
#include "core/host.hpp"
#include "core/text.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "sweep/local/launcher.hpp"
#include "sweep/sweep_clock.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
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
    const auto job = m_next++;
    m_jobs[job] = {run_id, b, b.ticks, 0, nullptr, 0};
    const auto folder_arg = std::find(request.argv.begin(), request.argv.end(), "--run-folder");
    if (folder_arg != request.argv.end()) {
      const std::filesystem::path folder = *(folder_arg + 1);
      auto& state = m_jobs[job];
      state.journal = std::make_shared<journal::JournalSink>(journal::journal_path(folder));
      const auto uid = std::string(core::trim(core::read_text_file(folder / "run.uid")));
      state.journal->start({.uid = uid, .run_id = run_id, .device = "cpu", .host = core::host_name(), .pid = 0});
    } else {
      m_store.resume_run(run_id, 0, "cpu", core::host_name(), 0);
    }
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
          finish(state, RunStatus::interrupted, "stopped by a signal");
          exit.exit_code = 130;
        } else {
          exit.signal = SIGKILL;
        }
        m_jobs.erase(job);
        return exit;
      }
    }
    for (auto& [job, state] : m_jobs) {
      if (state.journal && state.ticks_left > 0) {
        auto epoch = EpochRecord{};
        epoch.epoch = ++state.epochs;
        epoch.set("test", "acc", 0.5);
        epoch.set("", "seconds", 1.0);
        state.journal->record_epoch(epoch);
      }
      if (state.ticks_left > 0 && --state.ticks_left == 0) {
        finish(state, state.behaviour.final_status, state.behaviour.exit_code ? "boom" : "");
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
    std::shared_ptr<journal::JournalSink> journal;  // a journal-writing child's
    int epochs;
  };

  // Record the child's end where it records (its journal or the store).
  void finish(JobState& state, RunStatus status, const std::string& error) {
    if (state.journal) {
      state.journal->end(status, error);
    } else {
      m_store.runs().finish(state.run_id, status, error);
    }
  }

  store::ResultStore& m_store;
  std::map<std::int64_t, JobState> m_jobs;
  std::map<std::int64_t, std::size_t> m_attempts;
  std::int64_t m_next = 1;
};

}  // namespace moexp::test
