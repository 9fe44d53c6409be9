#include "store/sqlite_reader.hpp"

#include "store/seq_list.hpp"

#include <algorithm>
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
  // A topic's seqs come from its topic_blocks rows (the rows whose last seq is past `after`,
  // in order), each event from its rowid: the same B-tree walks the old (topic, seq) index
  // needed, without the index's cost on every insert.
  topic_blocks_ = statement(db_,
                            "SELECT first_seq, gaps FROM topic_blocks WHERE topic = ?1 AND "
                            "last_seq > ?2 ORDER BY last_seq");
  one_ = statement(db_,
                   "SELECT seq, topic, event_id, timestamp, source, payload, received_at "
                   "FROM events WHERE seq = ?1");
}

sqlite_reader::~sqlite_reader() {
  all_ = {};
  topic_blocks_ = {};
  one_ = {};
  sqlite3_close(db_);
}

namespace {

stored_event row_event(const statement& s) {
  stored_event e;
  e.seq = s.column_int(0);
  e.topic = s.column_text(1);
  e.event_id = s.column_text(2);
  e.timestamp = s.column_text(3);
  e.source = s.column_text(4);
  e.payload = s.column_text(5);
  e.received_at = s.column_text(6);
  return e;
}

}  // namespace

boost::system::error_code sqlite_reader::events(const std::optional<std::string>& topic,
                                                std::int64_t after, std::int64_t limit,
                                                std::vector<stored_event>& out) {
  if (topic) return topic_events(*topic, after, limit, out);
  all_.bind(1, after);
  all_.bind(2, limit);
  int rc;
  while ((rc = all_.step()) == SQLITE_ROW) out.push_back(row_event(all_));
  auto ec = check(rc, db_, "read events", &error_);
  all_.reset();
  return ec;
}

boost::system::error_code sqlite_reader::topic_events(const std::string& topic, std::int64_t after,
                                                      std::int64_t limit,
                                                      std::vector<stored_event>& out) {
  // While topic_blocks_ is being stepped, the connection's read transaction stays open: the
  // event rows are read from the same snapshot as the blocks.
  topic_blocks_.bind(1, std::string_view(topic));
  topic_blocks_.bind(2, after);
  const std::size_t wanted =
      out.size() + static_cast<std::size_t>(std::max<std::int64_t>(limit, 0));
  int rc = SQLITE_DONE;
  boost::system::error_code ec;
  while (!ec && out.size() < wanted && (rc = topic_blocks_.step()) == SQLITE_ROW) {
    const bool well_formed = for_each_seq(
        topic_blocks_.column_int(0), topic_blocks_.column_blob(1), [&](std::int64_t seq) {
          if (seq <= after) return true;
          one_.bind(1, seq);
          const int row = one_.step();
          // A block names only stored events: anything else means a damaged file.
          if (row == SQLITE_ROW)
            out.push_back(row_event(one_));
          else
            ec = check(row == SQLITE_DONE ? SQLITE_CORRUPT : row, db_, "read event", &error_);
          one_.reset();
          return !ec && out.size() < wanted;
        });
    if (!ec && !well_formed) ec = check(SQLITE_CORRUPT, db_, "read topic block", &error_);
  }
  if (!ec) ec = check(rc, db_, "read topic blocks", &error_);
  topic_blocks_.reset();
  return ec;
}

}  // namespace agg::store
