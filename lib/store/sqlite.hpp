// A small RAII layer over SQLite (after SQLiteCpp): Database, Statement, Transaction, one error check.
// Only lib/store uses it; sqlite3.h is included in sqlite.cpp alone.
#pragma once

#include "core/run_status.hpp"
#include "store/open_mode.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace moexp::store {

class Statement;

// An open SQLite connection, used by one thread at a time (opened in SQLite's multi-thread mode).
class Database {
 public:
  // Open the database at `path` (":memory:" for an in-memory one) with a busy timeout and foreign keys on; read_write
  // creates it if needed and sets WAL, or on a network filesystem (filesystem_kind.hpp) the rollback journal with a
  // one-line notice on stderr. Throws StoreError naming `path`.
  explicit Database(const std::string& path, OpenMode mode = OpenMode::read_write);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Run `sql` (one or more statements, no parameters). Throws StoreError.
  void exec(std::string_view sql);

  // The statement for `sql`, prepared on first use and kept for the life of the connection (for statements run per
  // epoch or per row: preparing costs more than running a small INSERT), returned reset and with its bindings
  // cleared. Not reentrant: finish with it before asking for the same SQL again.
  Statement& prepared(std::string_view sql);

  // The statement "`head` VALUES (?, ...), ..." inserting `rows` rows of `columns` values, prepared on first use and
  // kept like prepared() (found by head and row count, without building its SQL), returned reset; every parameter
  // is rebound by the caller.
  Statement& prepared_insert(std::string_view head, int columns, int rows);

  // The rowid of the last INSERT on this connection.
  std::int64_t last_insert_rowid() const;

  // Rows changed by the last statement.
  int changes() const;

  const std::string& path() const { return m_path; }
  sqlite3* handle() const { return m_db; }
  OpenMode mode() const { return m_mode; }

 private:
  void open(const std::string& uri, int flags);
  // A read_write connection's settings: foreign keys, page size, the journal mode and its sync level.
  void configure_writer(const std::string& path);
  // Leave WAL for the rollback journal (synchronous FULL) on the network filesystem `filesystem`; throws StoreError
  // when another connection holds the database in WAL.
  void use_rollback_journal(const std::string& filesystem);

  std::string m_path;
  OpenMode m_mode = OpenMode::read_write;
  sqlite3* m_db = nullptr;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> m_prepared;
  // Multi-row INSERTs by (head, rows), found by a string_view of the head without a copy.
  struct InsertKeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, int>(a.first, a.second) < std::pair<std::string_view, int>(b.first, b.second);
    }
  };
  std::map<std::pair<std::string, int>, std::unique_ptr<Statement>, InsertKeyLess> m_prepared_inserts;
};

// One value to bind.
using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// A prepared statement with bound parameters (1-based indexes, as in SQLite).
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, const SqlValue& value);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }

  // Bind `values` to parameters 1..N in order.
  template <typename... Ts>
  Statement& bind_all(const Ts&... values) {
    int index = 0;
    (bind(++index, values), ...);
    return *this;
  }

  // Advance; true when a row is available. Throws StoreError on failure.
  bool step();

  // Step until done (for statements that return no rows).
  void run();

  // Reset for re-execution with new bindings (bindings are kept until rebound).
  void reset();

  // Set every parameter back to NULL.
  void clear_bindings();

  // Read the current row's columns 0..N-1 into `out...`, each by its type: std::int64_t, int, double, bool,
  // std::string, std::optional<std::int64_t>, std::optional<double> or RunStatus (NULL reads as 0, "" or nullopt).
  // One call per row replaces hand-numbered column reads.
  template <typename... Ts>
  void read(Ts&... out) const {
    int index = 0;
    (read_column(index++, out), ...);
  }

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  std::optional<double> column_optional_double(int index) const;

 private:
  void read_column(int index, std::int64_t& out) const { out = column_int(index); }
  void read_column(int index, int& out) const { out = static_cast<int>(column_int(index)); }
  void read_column(int index, double& out) const { out = column_double(index); }
  void read_column(int index, bool& out) const { out = column_int(index) != 0; }
  void read_column(int index, std::string& out) const { out = column_text(index); }
  void read_column(int index, std::optional<std::int64_t>& out) const { out = column_optional_int(index); }
  void read_column(int index, std::optional<double>& out) const { out = column_optional_double(index); }
  // Throws StoreError for a status this version does not know.
  void read_column(int index, RunStatus& out) const;

  Database& m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

// Every remaining row of `q` as a `Row`, each filled by `fill(q, row)` (usually one q.read(...) of its fields).
template <typename Row, typename Fill>
std::vector<Row> collect_rows(Statement& q, Fill fill) {
  std::vector<Row> rows;
  while (q.step()) {
    fill(static_cast<const Statement&>(q), rows.emplace_back());
  }
  return rows;
}

// Rows for one table, written as multi-row INSERTs of up to kRowsPerStatement rows, each row count's statement
// prepared once per connection: a statement per row costs several times more. Call flush() before the enclosing
// transaction commits; rows not flushed are dropped.
class RowInserter {
 public:
  static constexpr int kRowsPerStatement = 64;

  // `head` is "INSERT INTO table (a, b, c)" (it must outlive the inserter: a literal); every row has `columns`
  // values.
  RowInserter(Database& db, std::string_view head, int columns);

  // Queue one row of `columns` values (integers, doubles, strings or nullptr).
  template <typename... Ts>
  void add(const Ts&... values) {
    (m_values.push_back(value_of(values)), ...);
    if (m_values.size() >= static_cast<std::size_t>(kRowsPerStatement * m_columns)) {
      flush();
    }
  }

  // Write the queued rows. Throws StoreError (also when a row had the wrong number of values).
  void flush();

 private:
  static SqlValue value_of(std::int64_t v) { return v; }
  static SqlValue value_of(int v) { return static_cast<std::int64_t>(v); }
  static SqlValue value_of(double v) { return v; }
  static SqlValue value_of(std::nullptr_t) { return nullptr; }
  static SqlValue value_of(std::string_view v) { return std::string(v); }

  Database& m_db;
  std::string_view m_head;
  int m_columns;
  std::vector<SqlValue> m_values;  // reserved for one full statement
};

// BEGIN IMMEDIATE on construction (inside another transaction: a savepoint, so stores' own transactions nest in a
// caller's); rolls back on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

  // Whether this is a savepoint inside a caller's transaction (its commit is not yet durable).
  bool nested() const { return m_nested; }

 private:
  Database& m_db;
  bool m_nested = false;  // inside another transaction: a savepoint
  bool m_done = false;
};

}  // namespace moexp::store
