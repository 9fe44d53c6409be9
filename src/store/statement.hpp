#pragma once

#include <boost/system/error_code.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace agg::store {

// The error category of SQLite result codes (the primary code, e.g. SQLITE_FULL = 13).
const boost::system::error_category& sqlite_category() noexcept;

// The one helper every sqlite3_* return code goes through: SQLITE_OK, SQLITE_ROW and
// SQLITE_DONE are success; anything else becomes an error_code and `db`'s message is kept in
// `message` (if given) prefixed by `what`.
boost::system::error_code check(int rc, sqlite3* db, const char* what, std::string* message);

// A prepared statement owned RAII-style. Bind indexes are 1-based, as in SQLite.
class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql);  // throws std::runtime_error at start-up
  ~statement();
  statement(statement&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  statement& operator=(statement&& o) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  // The text must outlive the next step(): SQLITE_STATIC avoids a copy on the hot path.
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }

  void bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  std::int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }
  std::string_view column_blob(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }
  std::string_view column_text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

// Runs `sql` (no result rows expected), e.g. a PRAGMA or DDL.
boost::system::error_code exec(sqlite3* db, const char* sql, std::string* message);

}  // namespace agg::store
