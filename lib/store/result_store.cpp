#include "store/result_store.hpp"

#include "core/atomic_file.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/migrations.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace moexp::store {

std::filesystem::path run_folder(const std::filesystem::path& db_path, std::int64_t run_id) {
  return db_path.parent_path() / "runs" / std::to_string(run_id);
}

std::optional<std::filesystem::path> set_aside_stale_folder(const std::filesystem::path& db_path, std::int64_t run_id) {
  namespace fs = std::filesystem;
  const auto folder = run_folder(db_path, run_id);
  std::error_code ec;
  if (!fs::is_directory(folder, ec) || fs::is_empty(folder, ec)) {
    return std::nullopt;
  }
  auto stale = folder;
  stale += ".stale-" + core::now_iso8601();
  fs::rename(folder, stale, ec);
  if (ec) {
    throw Error(fmt::format("cannot move the stale run folder {} aside: {}", folder.string(), ec.message()));
  }
  return stale;
}

namespace {

// The database path as the user gave it, checked before SQLite sees it (SQLite would happily open "" as a temporary
// database, or /dev/null and then create /dev/null-journal).
const std::string& checked_path(const std::string& path, OpenMode mode) {
  if (path == ":memory:") {
    return path;
  }
  core::check_output_path(path, "--db");
  if (mode == OpenMode::read_only && !std::filesystem::exists(path)) {
    throw InputError(fmt::format("database {} does not exist (train or sweep first, or pass --db)", path));
  }
  return path;
}

}  // namespace

ResultStore::ResultStore(const std::string& path, OpenMode mode)
    : m_db(std::make_unique<Database>(checked_path(path, mode), mode)),
      m_runs(std::make_unique<RunStore>(*m_db)),
      m_metrics(std::make_unique<MetricStore>(*m_db)),
      m_routing(std::make_unique<RoutingStore>(*m_db)),
      m_sweeps(std::make_unique<SweepStore>(*m_db)) {
  if (mode == OpenMode::read_write) {
    migrate(*m_db);
  } else {
    check_readable(*m_db);
  }
}

ResultStore::~ResultStore() = default;
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;

const std::string& ResultStore::path() const {
  return m_db->path();
}

void ResultStore::record_epoch(std::int64_t id, const EpochRecord& r) {
  Transaction tx(*m_db);
  // Rows exist only for epochs up to epochs_done (resume_run drops later ones), so a new epoch has nothing to replace.
  if (r.epoch <= m_runs->epochs_done(id)) {
    m_metrics->drop_epoch(id, r.epoch);
    m_routing->drop_epoch(id, r.epoch);
  }
  m_metrics->write_epoch(id, r);
  m_routing->write_snapshots(id, r.epoch, std::nullopt, {{"train", &r.train_routing}, {"test", &r.test_routing}});
  m_runs->note_epoch(id, r.epoch, r.find(kSecondsMetric).value_or(0.0));
  tx.commit();
  if (!tx.nested()) {
    m_metrics->metrics_committed();  // inside a caller's transaction it is the caller's to say (ingest_journal)
  }
}

std::int64_t ResultStore::record_evaluation(const NewEvaluation& evaluation) {
  Transaction tx(*m_db);
  const std::int64_t id = m_metrics->write_evaluation(evaluation);
  m_routing->write_snapshot(evaluation.run_id, std::nullopt, evaluation.split, id, evaluation.routing);
  tx.commit();
  return id;
}

bool ResultStore::resume_run(std::int64_t id, std::int64_t keep_epochs, const std::string& device,
                             const std::string& host, std::int64_t pid, std::optional<std::int64_t> claimed_by) {
  Transaction tx(*m_db);  // BEGIN IMMEDIATE: the claim cannot change between the check and the update
  if (claimed_by && !m_runs->claimed_by(id, *claimed_by, host)) {
    return false;
  }
  m_metrics->drop_after(id, keep_epochs);
  m_routing->drop_after(id, keep_epochs);
  m_runs->restart(id, keep_epochs, device, host, pid);
  tx.commit();
  return true;
}

std::vector<std::string> ResultStore::integrity_problems() {
  Statement q(*m_db, "PRAGMA integrity_check");
  std::vector<std::string> problems;
  while (q.step()) {
    if (auto line = q.column_text(0); line != "ok") {
      problems.push_back(std::move(line));
    }
  }
  return problems;
}

}  // namespace moexp::store
