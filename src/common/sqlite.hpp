// The few SQLite pieces every side of a recording needs (the server writes it; allocmon-replay and
// allocmon-report read it): a prepared statement that finalizes itself, a read-only open, and a column check
// for older schemas.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace allocmon::sqlite {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;

// Throws Error("cannot open the recording PATH: why").
Database open_readonly(const std::string& path);

// True when `table` has `column` (false also when the table does not exist).
bool has_column(sqlite3* db, const char* table, const char* column);

class Statement {
 public:
  // Throws Error(what_for + " (" + SQLite's message + ")") when the SQL does not prepare.
  Statement(sqlite3* db, const std::string& sql, const std::string& what_for = "not an allocmon recording");
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value) {
    sqlite3_bind_int64(statement_, index, value);
    return *this;
  }
  Statement& bind(int index, const char* text) {
    sqlite3_bind_text(statement_, index, text, -1, SQLITE_TRANSIENT);
    return *this;
  }
  bool step() { return sqlite3_step(statement_) == SQLITE_ROW; }
  int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  bool null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* p = sqlite3_column_text(statement_, column);
    return p ? reinterpret_cast<const char*>(p) : "";
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

}  // namespace allocmon::sqlite
