#include "store/sqlite.hpp"

#include "core/error.hpp"
#include "store/filesystem_kind.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>

namespace moexp::store {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& path, std::string_view what) {
  throw StoreError(fmt::format("database {}: {}: {}", path, what, db ? sqlite3_errmsg(db) : "out of memory"));
}

void check(int rc, sqlite3* db, const std::string& path, std::string_view what) {
  if (rc != SQLITE_OK) {
    fail(db, path, what);
  }
}

}  // namespace

Database::Database(const std::string& path, OpenMode mode) : m_path(path), m_mode(mode) {
  if (mode == OpenMode::read_only) {
    open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    sqlite3_busy_timeout(m_db, 30000);
    // A WAL database in a folder we cannot write: SQLite cannot create the -shm file and the first read fails.
    // Nobody can be writing there, so the file is complete on its own: open it immutable.
    const int rc = sqlite3_exec(m_db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
      sqlite3_close_v2(m_db);
      m_db = nullptr;
      std::string uri = "file:";
      for (char c : path) {  // percent-encode what a URI path cannot hold
        if (c == '%' || c == '?' || c == '#') {
          uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        } else {
          uri.push_back(c);
        }
      }
      open(uri + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI);
    }
    sqlite3_extended_result_codes(m_db, 1);
    return;
  }
  if (path != ":memory:") {
    auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) {
      std::filesystem::create_directories(parent, ec);
    }
  }
  open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  sqlite3_busy_timeout(m_db, 30000);
  sqlite3_extended_result_codes(m_db, 1);
  try {
    configure_writer(path);
  } catch (...) {
    m_prepared.clear();
    sqlite3_close_v2(m_db);  // the destructor does not run for a constructor that throws
    m_db = nullptr;
    throw;
  }
}

void Database::configure_writer(const std::string& path) {
  exec("PRAGMA foreign_keys = ON");
  if (path != ":memory:") {
    // Measured with bench/store_ingest.sh: a training epoch commits ~137 small rows spread over ~12 B-trees, so
    // each commit appends ~15 WAL frames. 1 KiB pages (a new database only; an existing one keeps its size) write
    // a quarter of the bytes of the 4 KiB default, and checkpointing every 16 MiB of WAL instead of every 1,000
    // pages cuts the fsyncs that synchronous = NORMAL does at each checkpoint.
    exec("PRAGMA page_size = 1024");
    if (const auto network = network_filesystem_of(path)) {
      use_rollback_journal(*network);
    } else {
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = NORMAL");
      exec("PRAGMA wal_autocheckpoint = 16384");
    }
  }
}

void Database::use_rollback_journal(const std::string& filesystem) {
  // WAL's index is shared memory that only processes on one host can share, so on a network filesystem the
  // database uses the rollback journal (its locks are the server's fcntl locks; moexp writes it from one host: runs
  // elsewhere write journals, docs/sweeps.md). FULL: in rollback mode NORMAL can corrupt on power loss.
  std::string journal;
  try {
    Statement mode(*this, "PRAGMA journal_mode = DELETE");
    mode.step();
    journal = mode.column_text(0);
  } catch (const StoreError&) {
    journal = "locked";  // another connection holds it in WAL
  }
  if (journal != "delete") {
    throw StoreError(fmt::format(
        "database {} is on a network filesystem ({}) and in WAL mode, and another process has it open, so it cannot "
        "leave WAL; stop that process (WAL over a network filesystem is unsafe) and retry",
        m_path, filesystem));
  }
  exec("PRAGMA synchronous = FULL");
  static bool noticed = false;  // once per process
  if (!noticed) {
    noticed = true;
    fmt::print(stderr, "moexp: notice: {} is on a network filesystem ({}): SQLite's rollback journal instead of WAL\n",
               m_path, filesystem);
  }
}

void Database::open(const std::string& uri, int flags) {
  // Before SQLite's first use in the process: no memory statistics (they take a global mutex on every allocation
  // and nothing reads them). A no-op when something else initialised SQLite first.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  int rc = sqlite3_open_v2(uri.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    sqlite3_close(m_db);
    m_db = nullptr;
    throw StoreError(fmt::format("database {}: cannot open: {}", m_path, msg));
  }
}

Database::~Database() {
  m_prepared.clear();  // finalize before closing
  sqlite3_close_v2(m_db);
}

Statement& Database::prepared(std::string_view sql) {
  auto it = m_prepared.find(sql);
  if (it == m_prepared.end()) {
    it = m_prepared.emplace(std::string(sql), std::make_unique<Statement>(*this, sql)).first;
  }
  Statement& stmt = *it->second;
  stmt.reset();
  stmt.clear_bindings();
  return stmt;
}

Statement& Database::prepared_insert(std::string_view head, int columns, int rows) {
  auto it = m_prepared_inserts.find(std::pair<std::string_view, int>(head, rows));
  if (it == m_prepared_inserts.end()) {
    std::string tuple = "(?";
    for (int c = 1; c < columns; ++c) {
      tuple += ", ?";
    }
    tuple += ")";
    std::string sql = std::string(head) + " VALUES " + tuple;
    for (int r = 1; r < rows; ++r) {
      sql += ", ";
      sql += tuple;
    }
    it = m_prepared_inserts.emplace(std::pair(std::string(head), rows), std::make_unique<Statement>(*this, sql)).first;
  }
  Statement& stmt = *it->second;
  stmt.reset();
  return stmt;
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(m_db);
    sqlite3_free(err);
    throw StoreError(fmt::format("database {}: {}", m_path, msg));
  }
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(m_db);
}

int Database::changes() const {
  return sqlite3_changes(m_db);
}

Statement::Statement(Database& db, std::string_view sql) : m_db(db) {
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr);
  check(rc, db.handle(), db.path(), fmt::format("cannot prepare '{}'", sql.substr(0, 60)));
}

Statement::~Statement() {
  sqlite3_finalize(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(m_stmt, index, value), m_db.handle(), m_db.path(), "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check(sqlite3_bind_double(m_stmt, index, value), m_db.handle(), m_db.path(), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check(sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT), m_db.handle(),
        m_db.path(), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check(sqlite3_bind_null(m_stmt, index), m_db.handle(), m_db.path(), "bind");
  return *this;
}

Statement& Statement::bind(int index, const SqlValue& value) {
  return std::visit([&](const auto& v) -> Statement& { return bind(index, v); }, value);
}

bool Statement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail(m_db.handle(), m_db.path(), fmt::format("'{}'", std::string_view(sqlite3_sql(m_stmt)).substr(0, 60)));
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
}

void Statement::clear_bindings() {
  sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(m_stmt, index);
}

double Statement::column_double(int index) const {
  return sqlite3_column_double(m_stmt, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(m_stmt, index);
  return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(m_stmt, index)) : std::string();
}

void Statement::read_column(int index, RunStatus& out) const {
  const std::string text = column_text(index);
  const auto status = parse_run_status(text);
  if (!status) {
    throw StoreError(fmt::format("database {}: unknown run status '{}'", m_db.path(), text));
  }
  out = *status;
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::column_optional_int(int index) const {
  return column_is_null(index) ? std::nullopt : std::optional(column_int(index));
}

std::optional<double> Statement::column_optional_double(int index) const {
  return column_is_null(index) ? std::nullopt : std::optional(column_double(index));
}

RowInserter::RowInserter(Database& db, std::string_view head, int columns)
    : m_db(db), m_head(head), m_columns(columns) {
  m_values.reserve(static_cast<std::size_t>(kRowsPerStatement * columns));
}

void RowInserter::flush() {
  if (m_values.empty()) {
    return;
  }
  const auto columns = static_cast<std::size_t>(m_columns);
  if (m_values.size() % columns != 0) {
    m_values.clear();
    throw StoreError(fmt::format("database {}: '{}': a row without {} values", m_db.path(), m_head, m_columns));
  }
  const auto rows = static_cast<int>(m_values.size() / columns);
  Statement& insert = m_db.prepared_insert(m_head, m_columns, rows);
  for (std::size_t i = 0; i < m_values.size(); ++i) {
    insert.bind(static_cast<int>(i + 1), m_values[i]);
  }
  m_values.clear();
  insert.run();
}

Transaction::Transaction(Database& db) : m_db(db), m_nested(sqlite3_get_autocommit(db.handle()) == 0) {
  m_db.prepared(m_nested ? "SAVEPOINT nested" : "BEGIN IMMEDIATE").run();
}

Transaction::~Transaction() {
  if (!m_done) {
    try {
      m_db.exec(m_nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK");
    } catch (...) {
      // A destructor never throws; the connection reports the state on its next use.
    }
  }
}

void Transaction::commit() {
  m_db.prepared(m_nested ? "RELEASE nested" : "COMMIT").run();
  m_done = true;
}

}  // namespace moexp::store
