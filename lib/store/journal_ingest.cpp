// ResultStore: applying a run journal (journal/run_journal.hpp) exactly once.
#include "core/clock.hpp"
#include "core/error.hpp"
#include "journal/run_journal.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <variant>

namespace moexp::store {
namespace {

constexpr std::uint64_t kFrameBytes = 8;  // record_file's length + CRC before each payload

}  // namespace

JournalProgress ResultStore::journal_progress(std::int64_t id) {
  JournalProgress progress;
  Statement& state = m_db->prepared("SELECT records, byte_offset, file_id FROM journal_ingest WHERE run_id = ?");
  state.bind_all(id);
  if (state.step()) {
    state.read(progress.records, progress.byte_offset, progress.file_id);
  }
  state.reset();
  return progress;
}

JournalIngest ResultStore::ingest_journal(std::int64_t id, const std::filesystem::path& journal) {
  JournalIngest result;
  if (!std::filesystem::exists(journal)) {
    return result;
  }
  const auto stored = journal_progress(id);
  const std::int64_t done = stored.records;
  const std::string& file_id = stored.file_id;
  const auto offset = static_cast<std::uint64_t>(stored.byte_offset);
  const auto read = journal::read_records(journal, offset);
  if (!file_id.empty() && read.file_id != file_id) {
    throw InputError(fmt::format("journal {}: replaced since {} of its records were applied (file id {}, was {})",
                                 journal.string(), done, read.file_id, file_id));
  }
  result.torn_bytes = read.trailing_bytes;
  result.total = done;
  if (read.records.empty()) {
    return result;
  }
  const auto run = m_runs->find(id);
  if (!run) {
    throw InputError(fmt::format("journal {}: no run {} in {}", journal.string(), id, path()));
  }
  const auto where = [&](std::int64_t record) { return fmt::format("journal {} record {}", journal.string(), record); };
  std::uint64_t end_offset = offset == 0 ? journal::kRecordFileHeaderBytes : offset;
  for (const auto& payload : read.records) {
    const std::int64_t number = done + result.applied + 1;
    journal::JournalEntry entry;
    try {
      entry = journal::decode_entry(payload);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: {}", where(number), e.what()));
    }
    // One transaction per record, with the state that says it is applied: small transactions keep SQLite's page
    // cache from spilling (one per whole journal measured 0.8x of direct writes), and a kill loses at most the record
    // being applied, which the next ingest applies again from the stored offset.
    Transaction tx(*m_db);
    if (journal_progress(id).records != number - 1) {
      break;  // another process ingested this journal meanwhile: it goes on from there
    }
    if (const auto* start = std::get_if<journal::JournalStart>(&entry)) {
      if (start->run_id != id || start->uid != run->uid) {
        throw InputError(fmt::format(
            "{}: written for run {} (uid {}), not run {} of {} (uid {}); it belongs to another database or run",
            where(number), start->run_id, start->uid.empty() ? "none" : start->uid, id, path(),
            run->uid.empty() ? "none" : run->uid));
      }
      resume_run(id, start->keep_epochs, start->device, start->host, start->pid);
      std::vector<ClassInfo> classes;
      for (const auto& c : start->classes) {
        classes.push_back({c.name, c.superclass, c.superclass_name});
      }
      m_runs->ensure_classes(id, classes);
    } else if (number == 1) {
      throw InputError(fmt::format("{}: the journal does not begin with a start entry", where(number)));
    } else if (const auto* epoch = std::get_if<EpochRecord>(&entry)) {
      record_epoch(id, *epoch);
    } else {
      const auto& end = std::get<journal::JournalEnd>(entry);
      m_runs->finish(id, end.status, end.error);
      result.ended = end.status;
    }
    end_offset += kFrameBytes + payload.size();
    Statement& save = m_db->prepared(R"sql(
      INSERT INTO journal_ingest (run_id, file_id, records, byte_offset, ingested_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id) DO UPDATE SET records = excluded.records, byte_offset = excluded.byte_offset,
                                         ingested_at = excluded.ingested_at)sql");
    save.bind_all(id, read.file_id, number, static_cast<std::int64_t>(end_offset), core::now_iso8601());
    save.run();
    tx.commit();
    m_metrics->metrics_committed();
    ++result.applied;
  }
  result.total = done + result.applied;
  return result;
}

}  // namespace moexp::store
