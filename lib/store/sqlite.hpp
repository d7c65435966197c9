// A small RAII layer over SQLite (after SQLiteCpp): Database, Statement, Transaction, one error check.
// Only lib/store uses it; sqlite3.h is included in sqlite.cpp alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace moexp::store {

// An open SQLite connection.
class Database {
public:
  // Open (creating if needed) the database at `path` (":memory:" for an in-memory one) with WAL, a busy timeout
  // and foreign keys on. Throws StoreError naming `path`.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Run `sql` (one or more statements, no parameters). Throws StoreError.
  void exec(std::string_view sql);

  // The rowid of the last INSERT on this connection.
  std::int64_t last_insert_rowid() const;

  // Rows changed by the last statement.
  int changes() const;

  const std::string& path() const { return m_path; }
  sqlite3* handle() const { return m_db; }

private:
  std::string m_path;
  sqlite3* m_db = nullptr;
};

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

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  std::optional<double> column_optional_double(int index) const;

private:
  Database& m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

// BEGIN IMMEDIATE on construction; rolls back on destruction unless commit() was called.
class Transaction {
public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

private:
  Database& m_db;
  bool m_done = false;
};

} // namespace moexp::store
