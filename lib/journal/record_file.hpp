// An append-only file of records, the framing of a run journal: a header ("moexp-journal 1\n", then the file's random
// id as 32 hex digits and "\n"), then records of [u32 payload length][u32 CRC-32 of the payload][payload],
// little-endian. The id tells a reader that comes back whether the file is still the one it read. A writer killed
// mid-record leaves a torn tail; readers stop before it (and before any record whose length or checksum is wrong) and
// report where, so a reader that comes back later continues from the last whole record. Torch-free and SQL-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::journal {

inline constexpr std::string_view kRecordFileHeader = "moexp-journal 1\n";
inline constexpr std::size_t kRecordFileHeaderBytes = kRecordFileHeader.size() + 33;  // magic, id, newline
inline constexpr std::uint32_t kMaxRecordBytes = 256U << 20U;  // a longer length field is damage, not a record

// The records of a file from one read.
struct RecordRead {
  std::vector<std::string> records;  // whole, checksummed payloads in file order
  std::uint64_t end_offset = 0;      // the byte after the last whole record (where the next read starts)
  std::uint64_t trailing_bytes = 0;  // bytes after end_offset that are not a whole valid record (a torn tail)
  std::string file_id;               // the id in the file's header
};

// The records of `path` from byte `offset` (kRecordFileHeaderBytes or an end_offset of an earlier read; 0 means
// the start). Throws moexp::InputError naming `path` when it is missing, has no journal header, or is shorter than
// `offset`.
RecordRead read_records(const std::filesystem::path& path, std::uint64_t offset = 0);

// Appends records to `path`. Opening creates the file with its header (a new random id), or cuts a torn tail off an
// existing one, so new records follow the last whole record. append() buffers; sync() writes what is buffered and
// fsyncs the file (and, once, its folder). Every failure throws moexp::Error naming `path` ("disk full writing ..." on
// ENOSPC); the file keeps its whole records.
class RecordWriter {
 public:
  explicit RecordWriter(const std::filesystem::path& path);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void append(std::string_view payload);
  void sync();

  // Whole records in the file when it was opened (for a resuming writer: what an earlier process left).
  const std::vector<std::string>& existing() const { return m_existing; }

 private:
  std::filesystem::path m_path;
  int m_fd = -1;
  std::string m_buffer;
  std::uint64_t m_size = 0;  // bytes of whole records on disk
  std::vector<std::string> m_existing;
};

}  // namespace moexp::journal
