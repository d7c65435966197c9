#include "sweep/backend.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "journal/run_journal.hpp"

#include <fmt/format.h>

namespace moexp::sweep {

void SweepSummary::count(AttemptOutcome outcome, Retry retry) {
  ++attempts;
  if (is_retryable(outcome)) {
    failed += retry == Retry::yes ? 0 : 1;
  } else if (outcome == AttemptOutcome::finished) {
    ++finished;
  } else if (outcome == AttemptOutcome::diverged) {
    ++diverged;
  } else {
    ++interrupted;
  }
}

std::optional<std::string> ingest_run_journal(store::ResultStore& store, const std::string& db_path,
                                              std::int64_t run_id) {
  try {
    store.ingest_journal(run_id, journal::journal_path(store::run_folder(db_path, run_id)));
  } catch (const InputError& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void ingest_run_journal_or_warn(store::ResultStore& store, const std::string& db_path, std::int64_t run_id) {
  if (auto error = ingest_run_journal(store, db_path, run_id)) {
    fmt::print(stderr, "moexp: warning: run {}: {}\n", run_id, *error);
  }
}

void write_run_setup(const std::string& db_path, const store::RunRow& row) {
  const auto folder = store::run_folder(db_path, row.id);
  core::write_file_atomic(folder / "config.toml", row.config_toml);
  core::write_file_atomic(folder / "run.uid", row.uid + "\n");
}

SweepSummary drive(Backend& backend, store::ResultStore& store, std::vector<WorkItem> queue,
                   const std::atomic<bool>& stop, const DriveOptions& options) {
  SweepClock& clock = options.clock != nullptr ? *options.clock : steady_clock();
  SweepSummary summary;
  if (!queue.empty()) {
    backend.submit(queue);
  }
  bool stopping = false;
  auto last_ingest = clock.now();
  while (true) {
    if (stop.load() && !stopping) {
      stopping = true;
      summary.stopped = true;
      backend.cancel();
    }
    auto retries = backend.poll(stopping ? Retry::no : Retry::yes, summary);
    if (!retries.empty()) {
      try {
        backend.submit(retries);
      } catch (const Error& e) {  // the scheduler refused the resubmission: those runs end here
        for (const auto& item : retries) {
          store.runs().finish(item.run_id, RunStatus::failed, e.what());
          ++summary.failed;
        }
      }
    }
    if (backend.idle()) {
      break;
    }
    if (clock.now() - last_ingest >= options.ingest_every) {
      last_ingest = clock.now();
      for (const auto run_id : backend.in_flight()) {  // in-flight runs' epochs reach the database while they run
        ingest_run_journal_or_warn(store, options.db_path, run_id);
      }
    }
    if (options.on_tick) {
      options.on_tick();
    }
    backend.wait(options.poll, stop);
  }
  return summary;
}

}  // namespace moexp::sweep
