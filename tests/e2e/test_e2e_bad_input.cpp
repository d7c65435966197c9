// Bad input through the real binary: the command line, database and output paths, read-only databases, and
// output formats that must survive hostile run names. Each case is one error line, exit code 2, nothing written.
#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <filesystem>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

ProcessResult moexp_cli(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{MOEXP_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, dir.path());
}

// The error output is exactly one line starting with "moexp: error: ".
void check_one_line_error(const ProcessResult& r, const std::string& contains) {
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("moexp: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(contains) != std::string::npos);
}

// A database with one finished run whose name holds a newline, a comma, a quote and an escape character.
fs::path database_with_hostile_name(const fs::path& path) {
  store::ResultStore db(path.string());
  store::NewRun run{"evil\nname, \"quoted\" \x1b[31mred",
                    "",
                    "h1",
                    {{"constraint.kind", "'kl'"}, {"moe.num_experts", "4"}, {"moe.enabled", "true"}},
                    "cpu",
                    "host",
                    1,
                    {}};
  db.runs().finish(db.runs().create(run), RunStatus::finished);
  return path;
}

}  // namespace

TEST_CASE("e2e bad input: an unknown command names the word and the nearest command") {
  TempDir dir;
  auto r = moexp_cli({"trian", "x.toml"}, dir);
  check_one_line_error(r,
                       "unknown command 'trian'; commands are 'train', 'evaluate', 'sweep', 'report', 'runs' or 'data' "
                       "(did you mean 'train'?)");
}

TEST_CASE("e2e bad input: command-line conversion errors are one line") {
  TempDir dir;
  check_one_line_error(moexp_cli({"train", "--resume", "abc"}, dir), "--resume = abc");
  check_one_line_error(moexp_cli({"runs", "--limit", "-1", "--db", (dir / "none.db").string()}, dir),
                       "--limit -1: expected a number of runs >= 0");
  // What the user typed is quoted with its control characters escaped (found by the experiment fuzzer).
  const auto exp = write_file(dir / "e.toml", "[data]\ndataset = \"synthetic\"\n");
  check_one_line_error(moexp_cli({"train", exp.string(), "--set", "a\nb\x1b=1"}, dir),
                       "--set a\\nb\\x1b=1: unknown key 'a\\nb\\x1b'");
}

TEST_CASE("e2e bad input: sweep options follow the spec's rules and are checked before any run is claimed") {
  TempDir dir;
  const auto spec = fs::path(MOEXP_SOURCE_DIR) / "sweeps/fmnist_cpu.toml";
  const auto db = dir / "sweep.db";
  check_one_line_error(moexp_cli({"sweep", spec.string(), "--jobs", "0", "--db", db.string()}, dir),
                       "--jobs 0: expected an integer >= 1");
  check_one_line_error(moexp_cli({"sweep", spec.string(), "--jobs", "-1", "--db", db.string()}, dir),
                       "--jobs -1: expected an integer >= 1");
  check_one_line_error(moexp_cli({"sweep", spec.string(), "--moexp", "/nonexistent", "--db", db.string()}, dir),
                       "--moexp /nonexistent: not an executable file");
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE("e2e bad input: database paths that cannot be a database are refused up front") {
  TempDir dir;
  check_one_line_error(moexp_cli({"runs", "--db", ""}, dir), "--db: the path is empty");
  check_one_line_error(moexp_cli({"runs", "--db", "/dev/null"}, dir), "--db /dev/null: not a regular file");
  check_one_line_error(moexp_cli({"runs", "--db", dir.path().string()}, dir), "is a folder");
  CHECK_FALSE(fs::exists("/dev/null-journal"));
  CHECK_FALSE(fs::exists("/dev/null-wal"));
}

TEST_CASE("e2e bad input: reading commands never create, migrate or write a database") {
  TempDir dir;
  const auto empty = write_file(dir / "empty.db", "");
  auto r = moexp_cli({"runs", "--db", empty.string()}, dir);
  check_one_line_error(r, "is empty or not a moexp database");
  CHECK(fs::file_size(empty) == 0);
  check_one_line_error(moexp_cli({"report", "--db", empty.string()}, dir), "is empty or not a moexp database");
  CHECK(fs::file_size(empty) == 0);
  check_one_line_error(moexp_cli({"runs", "--db", (dir / "missing.db").string()}, dir), "does not exist");
  CHECK_FALSE(fs::exists(dir / "missing.db"));
}

TEST_CASE("e2e bad input: report --out must be a file and --by a config key") {
  TempDir dir;
  const auto db = database_with_hostile_name(dir / "r.db");
  check_one_line_error(moexp_cli({"report", "--db", db.string(), "--out", dir.path().string()}, dir),
                       "is a folder; give a file name");
  check_one_line_error(moexp_cli({"report", "--db", db.string(), "--by", "unknown.key"}, dir),
                       "--by unknown.key: unknown key 'unknown.key'");
  // Nothing was left next to the folder (the temp file once went to its parent).
  for (const auto& e : fs::directory_iterator(dir.path().parent_path())) {
    CHECK(e.path().filename().string().find(dir.path().filename().string() + ".tmp") == std::string::npos);
  }
}

TEST_CASE("e2e bad input: run names with newlines, quotes and escapes stay inside their CSV field and table cell") {
  TempDir dir;
  const auto db = database_with_hostile_name(dir / "r.db");
  auto csv = moexp_cli({"runs", "--db", db.string(), "--format", "csv"}, dir);
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("\"evil\nname, \"\"quoted\"\" \x1b[31mred\"") != std::string::npos);  // RFC 4180 quoting
  auto table = moexp_cli({"runs", "--db", db.string()}, dir);
  REQUIRE(table.exit_code == 0);
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 3);  // header, rule, one row
  CHECK(table.out.find("evil\\nname, \"quoted\" \\x1b[31mred") != std::string::npos);
  CHECK(table.out.find('\x1b') == std::string::npos);
}

TEST_CASE("e2e bad input: a database in a read-only folder can be read (runs and report) without changing it") {
  if (::geteuid() != 0 || !fs::exists("/usr/bin/setpriv")) {
    MESSAGE("skipped: needs root and setpriv to read as the unprivileged user nobody");
    return;
  }
  TempDir dir;
  const auto folder = dir / "ro";
  fs::create_directories(folder);
  const auto db = database_with_hostile_name(folder / "moexp.db");
  REQUIRE_FALSE(fs::exists(folder / "moexp.db-wal"));  // closed cleanly: checkpointed, WAL mode kept
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(folder.c_str(), 0555);
  ::chmod(db.c_str(), 0444);
  const auto before = read_file(db);
  const std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                           MOEXP_BIN};
  auto runs = as_nobody;
  runs.insert(runs.end(), {"runs", "--db", db.string()});
  TempDir scratch;
  auto r = run(runs, scratch.path());
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("finished") != std::string::npos);
  auto report = as_nobody;
  report.insert(report.end(), {"report", "--db", db.string(), "--format", "csv"});
  auto rep = run(report, scratch.path());
  CAPTURE(rep.err);
  CHECK(rep.exit_code == 0);
  CHECK(rep.out.find("kl") != std::string::npos);
  CHECK(read_file(db) == before);
  CHECK_FALSE(fs::exists(folder / "moexp.db-wal"));
  ::chmod(folder.c_str(), 0755);

  // An older schema there cannot be upgraded by a reader: one line saying which command does, the file unchanged.
  const auto old_folder = dir / "ro-old";
  fs::create_directories(old_folder);
  const auto old_db = database_with_hostile_name(old_folder / "moexp.db");
  {  // in process, not through the sqlite3 shell (not every machine has it at /usr/bin)
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(old_db.c_str(), &handle) == SQLITE_OK);
    CHECK(sqlite3_exec(handle, "PRAGMA user_version = 3", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(handle);
  }
  ::chmod(old_folder.c_str(), 0555);
  ::chmod(old_db.c_str(), 0444);
  const auto old_before = read_file(old_db);
  auto old_runs = as_nobody;
  old_runs.insert(old_runs.end(), {"runs", "--db", old_db.string()});
  auto o = run(old_runs, scratch.path());
  CAPTURE(o.err);
  CHECK(o.exit_code == 1);
  CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
  CHECK(o.err.find("has schema version 3, older than this moexp's") != std::string::npos);
  CHECK(o.err.find("a command that writes (train, sweep) upgrades it") != std::string::npos);
  CHECK(read_file(old_db) == old_before);
  ::chmod(old_folder.c_str(), 0755);
}

TEST_CASE("e2e bad input: data fetch checks every name before downloading, and data list shows what is there") {
  TempDir dir;
  check_one_line_error(moexp_cli({"data", "fetch", "mnist", "cifar1000", "--to", (dir / "d").string()}, dir),
                       "data fetch: unknown dataset 'cifar1000'; datasets are 'cifar10', 'cifar100', 'mnist' or "
                       "'fashion_mnist' (did you mean 'cifar100'?)");
  CHECK_FALSE(fs::exists(dir / "d"));  // nothing fetched, not even mnist
  check_one_line_error(moexp_cli({"data", "fetch", "synthetic"}, dir), "'synthetic' is generated in memory");
  auto list = moexp_cli({"data", "list", "--to", (dir / "d").string()}, dir);
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("cifar100       missing") != std::string::npos);
  CHECK(list.out.find("fetch one with: moexp data fetch NAME --to " + (dir / "d").string()) != std::string::npos);
}
