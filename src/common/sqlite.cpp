#include "sqlite.hpp"

namespace allocmon::sqlite {

Database open_readonly(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    throw Error("cannot open the recording " + path + ": " + why);
  }
  return Database(raw, &sqlite3_close);
}

bool has_column(sqlite3* db, const char* table, const char* column) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("SELECT 1 FROM pragma_table_info('") + table + "') WHERE name=?";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return false;
  sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
  const bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

Statement::Statement(sqlite3* db, const std::string& sql, const std::string& what_for) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK)
    throw Error(what_for + " (" + sqlite3_errmsg(db) + ")");
}

}  // namespace allocmon::sqlite
