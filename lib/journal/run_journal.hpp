// What a run writes to its journal instead of the database when it runs away from the database's host: the entries,
// their binary encoding, and the sink the trainer writes epochs to. The sweep process, the database's one writer,
// applies them to the database. Torch-free and SQL-free.
#pragma once

#include "core/metrics.hpp"
#include "core/run_status.hpp"
#include "journal/record_file.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace moexp::journal {

// A class of the run's dataset, in label order (the database's run_classes).
struct JournalClass {
  std::string name;
  std::int64_t superclass = 0;
  std::string superclass_name;
};

// A process took up the run: as ResultStore::resume_run (keep `keep_epochs` epochs, drop later rows, record the
// process) and the dataset's classes. `uid` is the run's uid in the database the journal belongs to; ingest refuses
// any other.
struct JournalStart {
  std::string uid{};
  std::int64_t run_id = 0;
  std::int64_t keep_epochs = 0;
  std::string device{}, host{};
  std::int64_t pid = 0;
  std::vector<JournalClass> classes{};
};

// The run ended with `status` (finished, failed, diverged, interrupted) and `error`.
struct JournalEnd {
  RunStatus status = RunStatus::finished;
  std::string error;
};

// One journal entry.
using JournalEntry = std::variant<JournalStart, EpochRecord, JournalEnd>;

// The payload of `entry` (a kind byte, then its fields, little-endian; doubles bit-exact).
std::string encode_entry(const JournalEntry& entry);

// The entry encoded in `payload`. Throws moexp::InputError ("journal entry: ...") for an unknown kind, a short or
// overlong payload or an invalid status.
JournalEntry decode_entry(std::string_view payload);

// The run journal's file in run folder `run_folder`.
std::filesystem::path journal_path(const std::filesystem::path& run_folder);

// The trainer's sink on a journal: start() records a process taking up the run, record_epoch appends the epoch and
// syncs it (before the checkpoint that follows it is renamed into place), end() appends the end and syncs.
class JournalSink : public MetricsSink {
 public:
  explicit JournalSink(const std::filesystem::path& path) : m_writer(path) {}
  void start(const JournalStart& start);
  void record_epoch(const EpochRecord& record) override;
  void end(RunStatus status, const std::string& error);

 private:
  void write(const JournalEntry& entry);  // append and sync

  RecordWriter m_writer;
};

}  // namespace moexp::journal
