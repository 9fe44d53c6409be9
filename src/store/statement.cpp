#include "store/statement.hpp"

#include <stdexcept>

namespace agg::store {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int ev) const override { return sqlite3_errstr(ev); }
};

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const category instance;
  return instance;
}

boost::system::error_code check(int rc, sqlite3* db, const char* what, std::string* message) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return {};
  if (message) {
    *message = what;
    *message += ": ";
    *message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  }
  return {rc & 0xff, sqlite_category()};
}

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
  if (rc != SQLITE_OK)
    throw std::runtime_error("cannot prepare '" + std::string(sql) + "': " + sqlite3_errmsg(db));
}

statement::~statement() {
  sqlite3_finalize(s_);
}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(s_);
    db_ = o.db_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

boost::system::error_code exec(sqlite3* db, const char* sql, std::string* message) {
  return check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql, message);
}

}  // namespace agg::store
