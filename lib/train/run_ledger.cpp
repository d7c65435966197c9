#include "train/run_ledger.hpp"

#include "store/result_store.hpp"
#include "store/store_sink.hpp"

#include <fmt/format.h>

namespace moexp::train {
namespace {

class DatabaseLedger : public RunLedger {
 public:
  DatabaseLedger(store::ResultStore& store, std::string db_path, std::int64_t run_id)
      : m_store(store), m_db_path(std::move(db_path)), m_run_id(run_id), m_sink(store, run_id) {}
  MetricsSink& sink() override { return m_sink; }
  void finish(RunStatus status, const std::string& error) override { m_store.runs().finish(m_run_id, status, error); }
  std::string results_text() const override { return fmt::format("results in {} (run {})", m_db_path, m_run_id); }
  std::string resume_hint() const override { return fmt::format("`moexp train --resume {}` continues it", m_run_id); }

 private:
  store::ResultStore& m_store;
  std::string m_db_path;
  std::int64_t m_run_id;
  store::StoreSink m_sink;
};

class JournalLedger : public RunLedger {
 public:
  JournalLedger(const std::filesystem::path& folder, const journal::JournalStart& start)
      : m_path(journal::journal_path(folder)), m_run_id(start.run_id), m_sink(m_path) {
    m_sink.start(start);
  }
  MetricsSink& sink() override { return m_sink; }
  void finish(RunStatus status, const std::string& error) override { m_sink.end(status, error); }
  std::string results_text() const override {
    return fmt::format("results in the journal {} (the sweep that started run {} ingests it)", m_path.string(),
                       m_run_id);
  }
  std::string resume_hint() const override {
    return "the sweep that started it resumes it from its checkpoint and journal";
  }

 private:
  std::filesystem::path m_path;
  std::int64_t m_run_id;
  journal::JournalSink m_sink;
};

}  // namespace

std::unique_ptr<RunLedger> database_ledger(store::ResultStore& store, const std::string& db_path, std::int64_t run_id) {
  return std::make_unique<DatabaseLedger>(store, db_path, run_id);
}

std::unique_ptr<RunLedger> journal_ledger(const std::filesystem::path& folder, const journal::JournalStart& start) {
  return std::make_unique<JournalLedger>(folder, start);
}

}  // namespace moexp::train
