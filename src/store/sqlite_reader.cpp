#include "store/sqlite_reader.hpp"

#include <stdexcept>

namespace agg::store {

sqlite_reader::sqlite_reader(const std::string& path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw std::runtime_error("cannot open --db " + path + " for reading: " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  all_ = statement(db_,
                   "SELECT seq, topic, event_id, timestamp, source, payload, received_at "
                   "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  by_topic_ = statement(db_,
                        "SELECT seq, topic, event_id, timestamp, source, payload, received_at "
                        "FROM events WHERE topic = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2");
}

sqlite_reader::~sqlite_reader() {
  all_ = {};
  by_topic_ = {};
  sqlite3_close(db_);
}

boost::system::error_code sqlite_reader::events(const std::optional<std::string>& topic,
                                                std::int64_t after, std::int64_t limit,
                                                std::vector<stored_event>& out) {
  statement& s = topic ? by_topic_ : all_;
  s.bind(1, after);
  s.bind(2, limit);
  if (topic) s.bind(3, std::string_view(*topic));
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    stored_event e;
    e.seq = s.column_int(0);
    e.topic = s.column_text(1);
    e.event_id = s.column_text(2);
    e.timestamp = s.column_text(3);
    e.source = s.column_text(4);
    e.payload = s.column_text(5);
    e.received_at = s.column_text(6);
    out.push_back(std::move(e));
  }
  auto ec = check(rc, db_, "read events", &error_);
  s.reset();
  return ec;
}

}  // namespace agg::store
