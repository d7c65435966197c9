// Fault drills through the real binary: a full disk while checkpointing and while committing to the database (a
// small tmpfs; root only, skipped with a message otherwise), a run journal on a full disk, and a new database beside a
// stale run folder. Each ends
// with one line, no temp file, and a state that --resume continues from.
#include "core/error.hpp"
#include "e2e/process.hpp"
#include "journal/record_file.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

// A tmpfs of `size` mounted at `at` for the test's lifetime (`mounted` false, with a message, when not root or
// when mounting is refused).
struct Tmpfs {
  fs::path at;
  bool mounted = false;
  Tmpfs(const fs::path& where, const std::string& size) : at(where) {
    fs::create_directories(at);
    if (::geteuid() != 0) {
      MESSAGE("skipped: needs root to mount a small tmpfs");
      return;
    }
    TempDir scratch;
    mounted =
        run({"/bin/mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", at.string()}, scratch.path()).exit_code == 0;
    if (!mounted) {
      MESSAGE("skipped: mounting a tmpfs is not permitted here");
    }
  }
  bool resize(const std::string& size) const {
    TempDir scratch;
    return run({"/bin/mount", "-o", "remount,size=" + size, at.string()}, scratch.path()).exit_code == 0;
  }
  ~Tmpfs() {
    if (mounted) {
      TempDir scratch;
      run({"/bin/umount", at.string()}, scratch.path());
    }
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
};

// Fill the file system of `file` until a write fails (ENOSPC).
void fill_disk(const fs::path& file) {
  std::ofstream out(file, std::ios::binary);
  const std::string block(64 * 1024, 'x');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
  }
}

// A drill on a small disk: the tiny experiment beside it, the database on it.
struct SmallDisk {
  TempDir dir;
  fs::path disk = dir / "disk";
  Tmpfs tmpfs;
  TempDir scratch;
  fs::path exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  fs::path db = disk / "moexp.db";
  explicit SmallDisk(const std::string& size) : tmpfs(disk, size) {}
};

}  // namespace

TEST_CASE("e2e fault drill: a full disk while checkpointing is one line, the old checkpoint stays, resume works") {
  // 2 MiB: the database and one 1.1 MB checkpoint fit, a second one beside it (the atomic write's temp) does not.
  SmallDisk d("2m");
  if (!d.tmpfs.mounted) {
    return;
  }
  const auto& [disk, db, exp] = std::tie(d.disk, d.db, d.exp);
  auto& scratch = d.scratch;
  auto& tmpfs = d.tmpfs;
  auto r = run({MOEXP_BIN, "train", exp.string(), "--db", db.string(), "--set", "train.epochs=3"}, scratch.path());
  CAPTURE(r.out);
  CAPTURE(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "moexp: error: run 1 failed: disk full writing " + (disk / "runs/1/checkpoint.pt").string() +
                     " (No space left on device)\n");
  CHECK(file_names(disk / "runs/1") == std::vector<std::string>{"checkpoint.pt", "config.toml"});  // no temp left
  {
    store::ResultStore store(db.string());
    auto row = store.runs().find(1);
    CHECK(row->status == RunStatus::failed);
    CHECK(row->epochs_done == 2);  // the epoch whose checkpoint failed is recorded; resume replays it
  }
  // More room, then resume from the intact checkpoint of epoch 1.
  REQUIRE(tmpfs.resize("16m"));
  auto resumed = run({MOEXP_BIN, "train", "--resume", "1", "--db", db.string()}, scratch.path());
  CAPTURE(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.out.find("resuming 'tiny' after epoch 1/3") != std::string::npos);
  store::ResultStore store(db.string());
  CHECK(store.runs().find(1)->status == RunStatus::finished);
  CHECK(store.metrics().epochs(1).size() == 3);
}

TEST_CASE("e2e fault drill: a new database never picks up a stale run folder") {
  TempDir dir;
  const auto exp = write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto db = dir / "moexp.db";
  TempDir scratch;
  REQUIRE(run({MOEXP_BIN, "train", exp.string(), "--db", db.string(), "--set", "train.epochs=1"}, scratch.path())
              .exit_code == 0);
  const auto old_checkpoint = read_file(dir / "runs/1/checkpoint.pt");
  fs::remove(db);  // a new database next to the old runs/ folder
  fs::remove(dir / "moexp.db-wal");
  fs::remove(dir / "moexp.db-shm");
  auto r = run({MOEXP_BIN, "train", exp.string(), "--db", db.string(), "--set", "train.epochs=2"}, scratch.path());
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("held files of another database's run 1; moved them to") != std::string::npos);
  CHECK(r.out.find("resuming") == std::string::npos);
  store::ResultStore store(db.string());
  CHECK(store.metrics().epochs(1).size() == 2);  // trained from scratch, both epochs recorded
  bool set_aside = false;
  for (const auto& e : fs::directory_iterator(dir / "runs")) {
    if (e.path().filename().string().rfind("1.stale-", 0) == 0) {
      set_aside = read_file(e.path() / "checkpoint.pt") == old_checkpoint;
    }
  }
  CHECK(set_aside);
}

TEST_CASE(
    "e2e fault drill: a full disk while committing an epoch is one line, the database stays whole, resume works") {
  SmallDisk d("16m");
  if (!d.tmpfs.mounted) {
    return;
  }
  const auto& [disk, db, exp] = std::tie(d.disk, d.db, d.exp);
  auto& scratch = d.scratch;
  const pid_t pid = spawn({MOEXP_BIN, "train", exp.string(), "--db", db.string(), "--set", "train.epochs=4", "--set",
                           "data.synthetic_train=2048"},
                          scratch / "out.txt", scratch / "err.txt");
  // Once epoch 1 is committed and checkpointed, take every free block: epoch 2's commit comes before its checkpoint.
  bool filled = false;
  for (int i = 0; i < 24000 && !filled; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (fs::exists(disk / "runs/1/checkpoint.pt")) {
      fill_disk(disk / "filler");
      filled = true;
    }
  }
  const int exit_code = wait_for(pid);
  REQUIRE(filled);
  const std::string err = read_file(scratch / "err.txt");
  CAPTURE(err);
  CHECK(exit_code == 1);
  // Progress lines, then exactly one error line: the epoch's commit, not the failed attempt to mark the run failed.
  const auto last_line = err.substr(err.rfind('\n', err.size() - 2) + 1);
  std::size_t error_lines = 0;
  for (std::size_t at = 0; at < err.size(); at = err.find('\n', at) + 1) {
    error_lines += err.compare(at, 6, "moexp:") == 0;
    if (err.find('\n', at) == std::string::npos) {
      break;
    }
  }
  CHECK(error_lines == 1);
  CHECK(last_line.rfind("moexp: error: run 1 failed: database " + db.string(), 0) == 0);
  CHECK(last_line.find("database or disk is full") != std::string::npos);
  CHECK(last_line.find("`moexp train --resume 1` continues it") != std::string::npos);
  CHECK(file_names(disk / "runs/1") == std::vector<std::string>{"checkpoint.pt", "config.toml"});  // no temp left

  // Room again: the database is whole (epoch 1 recorded, nothing half-written) and --resume finishes the run.
  fs::remove(disk / "filler");
  {
    store::ResultStore store(db.string());
    CHECK(store.integrity_problems().empty());
    CHECK(store.metrics().epochs(1).size() == 1);
  }
  auto resumed = run({MOEXP_BIN, "train", "--resume", "1", "--db", db.string()}, scratch.path(), 240);
  CAPTURE(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.out.find("resuming 'tiny' after epoch 1/4") != std::string::npos);
  store::ResultStore store(db.string());
  CHECK(store.runs().find(1)->status == RunStatus::finished);
  CHECK(store.metrics().epochs(1).size() == 4);
}

TEST_CASE(
    "e2e fault drill: a run journal on a full disk keeps its whole records and takes new ones once there is room") {
  TempDir dir;
  Tmpfs disk(dir / "disk", "64k");
  if (!disk.mounted) {
    return;
  }
  const auto path = disk.at / "journal.bin";
  journal::RecordWriter writer(path);
  const std::string record(3000, 'r');
  std::size_t synced = 0;
  std::string error;
  for (int i = 0; i < 100 && error.empty(); ++i) {
    writer.append(record);
    try {
      writer.sync();
      ++synced;
    } catch (const Error& e) {
      error = e.what();
    }
  }
  CAPTURE(error);
  CHECK(error.rfind("disk full writing " + path.string(), 0) == 0);
  CHECK(synced > 0);
  auto read = journal::read_records(path);
  CHECK(read.records.size() == synced);
  CHECK(read.trailing_bytes == 0);  // the part of the failed record that fit was cut again
  REQUIRE(disk.resize("1m"));
  writer.append("after the disk was freed");
  writer.sync();
  read = journal::read_records(path);
  REQUIRE(read.records.size() == synced + 1);
  CHECK(read.records.back() == "after the disk was freed");
  CHECK(std::distance(fs::directory_iterator(disk.at), fs::directory_iterator()) == 1);  // no temp files
}
