// The fan-out cursor in the SQLite file: a table of its own, on a connection of its own.
#include "store/fanout_cursor.hpp"
#include "store/sqlite_store.hpp"
#include "store/statement.hpp"

#include "core/errc.hpp"

#include <stdexcept>

namespace agg::store {
namespace {

// Created on first use (IF NOT EXISTS), so files written before the bridge existed keep their
// schema version: the table is additive and nothing else reads it.
constexpr const char* cursor_table =
    "CREATE TABLE IF NOT EXISTS fanout_cursors(exchange TEXT PRIMARY KEY, seq INTEGER NOT NULL) "
    "WITHOUT ROWID";

class sqlite_fanout_cursor final : public fanout_cursor {
 public:
  sqlite_fanout_cursor(const std::string& path, std::string exchange)
      : exchange_(std::move(exchange)) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open --db " + path + " for the fan-out cursor: " + msg);
    }
    // The one-row upsert waits behind a group commit rather than failing.
    sqlite3_busy_timeout(db_, 5000);
  }
  // _v2: the prepared statements (members, destroyed after this body) are finalized after it;
  // sqlite3_close would refuse while they exist and leave the connection open.
  ~sqlite_fanout_cursor() override { sqlite3_close_v2(db_); }

  bool acquire(std::string& error) override {
    if (ready_) return true;
    ready_ = !exec(db_, cursor_table, &error);
    return ready_;
  }
  bool held() override { return ready_; }

  boost::system::error_code load(std::int64_t& seq, std::string& error) override {
    seq = 0;
    if (auto ec = prepare(error)) return ec;
    select_.bind(1, std::string_view(exchange_));
    const int rc = select_.step();
    if (rc == SQLITE_ROW) seq = select_.column_int(0);
    select_.reset();
    return check(rc, db_, "reading the fan-out cursor: ", &error);
  }

  boost::system::error_code save(std::int64_t seq, std::string& error) override {
    if (auto ec = prepare(error)) return ec;
    upsert_.bind(1, std::string_view(exchange_));
    upsert_.bind(2, seq);
    const int rc = upsert_.step();
    upsert_.reset();
    return check(rc, db_, "saving the fan-out cursor: ", &error);
  }

 private:
  boost::system::error_code prepare(std::string& error) {
    if (!acquire(error)) return make_error_code(errc::unavailable);
    if (prepared_) return {};
    try {
      select_ = statement(db_, "SELECT seq FROM fanout_cursors WHERE exchange = ?1");
      upsert_ = statement(db_,
                          "INSERT INTO fanout_cursors(exchange, seq) VALUES (?1, ?2) "
                          "ON CONFLICT(exchange) DO UPDATE SET seq = max(seq, excluded.seq)");
    } catch (const std::exception& e) {
      error = e.what();
      return make_error_code(errc::unavailable);
    }
    prepared_ = true;
    return {};
  }

  sqlite3* db_ = nullptr;
  const std::string exchange_;
  bool ready_ = false;
  bool prepared_ = false;
  statement select_, upsert_;
};

}  // namespace

std::unique_ptr<fanout_cursor> sqlite_store::open_fanout_cursor(const std::string& exchange) {
  return std::make_unique<sqlite_fanout_cursor>(writer_->path(), exchange);
}

}  // namespace agg::store
