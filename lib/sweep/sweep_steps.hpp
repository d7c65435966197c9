// The steps of `moexp sweep` that every backend's runner shares: the plan recorded as database rows, the dry-run
// table, one line per event, the status table and the exit code.
#pragma once

#include "config/sweep_spec.hpp"
#include "store/result_store.hpp"
#include "sweep/backend.hpp"
#include "sweep/planner.hpp"
#include "sweep/run_sweep.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace moexp::sweep {

// The path of this binary (what children and Slurm tasks run), or "moexp".
std::string self_exe();

// The sweep's runs with their status, epochs, attempts, metric `metric_key` and (for Slurm) latest task.
void print_status_table(store::ResultStore& db, std::int64_t sweep_id, const std::string& name,
                        const std::string& metric_key = "test_acc");

// The planned runs with their state in the database (nothing is written); `resources` says what they would run on.
void print_plan(const config::SweepSpec& spec, const Plan& plan, const std::string& db_path,
                const std::string& resources);

// One line per backend event (when the live display is off), with the count done and an ETA.
class EventPrinter {
 public:
  explicit EventPrinter(std::size_t total);
  void set_total(std::size_t total) { m_total = total; }
  void operator()(const ExecutorEvent& e);

 private:
  std::size_t m_total;
  std::size_t m_ended = 0;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

// What is left of a plan once it is recorded: the runs to submit, the ones done, the ones still in flight.
struct Queue {
  std::vector<WorkItem> items;
  std::int64_t done = 0;
  std::int64_t in_flight = 0;
};

// Create the sweep's rows: pending runs for new configs (each run gets `threads`, outside the config hash), links for
// all; runs in `in_flight` are left to the backend that has them. Returns what is left to run.
Queue record_plan(store::ResultStore& db, std::int64_t sweep_id, const config::SweepSpec& spec, const Plan& plan,
                  const SweepRequest& req, std::int64_t threads, const std::set<std::int64_t>& in_flight);

// Print the status table after a sweep; returns its exit code (130 stopped, 1 some run failed, else 0).
int finish_sweep(store::ResultStore& db, std::int64_t sweep_id, const std::string& name, const SweepSummary& summary);

}  // namespace moexp::sweep
