// record_file: the journal's framing (header, length + CRC-32 per record), torn tails and the resuming writer.
#include "core/error.hpp"
#include "journal/record_file.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace moexp;
using namespace moexp::journal;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("record_file: synced records read back whole, in order, with the offset to continue from") {
  test::TempDir dir;
  const auto path = dir / "run/journal.bin";
  {
    RecordWriter w(path);
    w.append("first");
    w.append(std::string(1000, '\0'));  // binary payloads, zeros included
    w.sync();
    w.append("");
    w.sync();
  }
  const auto read = read_records(path);
  REQUIRE(read.records.size() == 3);
  CHECK(read.records[0] == "first");
  CHECK(read.records[1] == std::string(1000, '\0'));
  CHECK(read.records[2].empty());
  CHECK(read.end_offset == fs::file_size(path));
  CHECK(read.trailing_bytes == 0);
  CHECK(bytes_of(path).rfind(kRecordFileHeader, 0) == 0);
  CHECK(read.file_id.size() == 32);
  // A later read from the offset sees only what was appended since.
  {
    RecordWriter w(path);
    CHECK(w.existing().size() == 3);
    w.append("fourth");
    w.sync();
  }
  const auto more = read_records(path, read.end_offset);
  REQUIRE(more.records.size() == 1);
  CHECK(more.records[0] == "fourth");
  CHECK(more.file_id == read.file_id);  // the same file: its id is kept by an appending writer
  std::filesystem::remove(path);
  RecordWriter(path).sync();
  CHECK(read_records(path).file_id != read.file_id);  // a new file, a new id
}

TEST_CASE("record_file: appended but unsynced records are not written") {
  test::TempDir dir;
  const auto path = dir / "journal.bin";
  {
    RecordWriter w(path);
    w.append("kept");
    w.sync();
    w.append("dropped");
  }
  CHECK(read_records(path).records == std::vector<std::string>{"kept"});
}

TEST_CASE("record_file: a torn or damaged last record is left out and reported, and a resuming writer cuts it") {
  test::TempDir dir;
  const auto path = dir / "journal.bin";
  {
    RecordWriter w(path);
    w.append("one");
    w.append("two");
    w.sync();
  }
  const auto whole = bytes_of(path);
  SUBCASE("cut in the middle of the last record") {
    write_bytes(path, whole.substr(0, whole.size() - 2));
  }
  SUBCASE("cut inside the last record's frame") {
    write_bytes(path, whole.substr(0, whole.size() - 3 - 5));  // 3 payload bytes and 5 of the 8 frame bytes gone
  }
  SUBCASE("a flipped byte in the last payload") {
    auto damaged = whole;
    damaged.back() ^= 0x20;
    write_bytes(path, damaged);
  }
  SUBCASE("a length field larger than any record") {
    auto damaged = whole;
    damaged[whole.size() - 3 - 8 + 3] = static_cast<char>(0x7F);  // the length's high byte
    write_bytes(path, damaged);
  }
  const auto read = read_records(path);
  CHECK(read.records == std::vector<std::string>{"one"});
  CHECK(read.trailing_bytes > 0);
  CHECK(read.end_offset + read.trailing_bytes == fs::file_size(path));
  {
    RecordWriter w(path);
    CHECK(w.existing() == std::vector<std::string>{"one"});
    w.append("three");
    w.sync();
  }
  const auto after = read_records(path);
  CHECK(after.records == std::vector<std::string>{"one", "three"});
  CHECK(after.trailing_bytes == 0);
}

TEST_CASE("record_file: a file cut inside its header is started anew, foreign files and bad offsets are refused") {
  test::TempDir dir;
  const auto path = dir / "journal.bin";
  write_bytes(path, std::string(kRecordFileHeader) + "0123");  // cut inside the id
  {
    RecordWriter w(path);
    CHECK(w.existing().empty());
    w.append("x");
    w.sync();
  }
  CHECK(read_records(path).records == std::vector<std::string>{"x"});
  CHECK_THROWS_WITH_AS(read_records(path, 1U << 20U), doctest::Contains("shorter than the 1048576 already read"),
                       InputError);
  const auto foreign = test::write_file(dir / "notes.txt", "these are not records at all\n");
  CHECK_THROWS_WITH_AS(read_records(foreign), doctest::Contains("not a moexp journal"), InputError);
  CHECK_THROWS_WITH_AS(RecordWriter{foreign}, doctest::Contains("not a moexp journal"), InputError);
  CHECK(bytes_of(foreign) == "these are not records at all\n");  // untouched
  CHECK_THROWS_WITH_AS(read_records(dir / "missing.bin"), doctest::Contains("does not exist"), InputError);
}
