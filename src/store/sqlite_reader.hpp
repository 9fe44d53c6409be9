#pragma once

#include <boost/system/error_code.hpp>

#include <sqlite3.h>

#include "store/event_store.hpp"
#include "store/statement.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agg::store {

// A read-only connection for /events. WAL lets it read the last committed state while the
// writer commits; uncommitted rows are never visible. Used by one strand at a time.
class sqlite_reader {
 public:
  explicit sqlite_reader(const std::string& path);  // throws at start-up
  ~sqlite_reader();
  sqlite_reader(const sqlite_reader&) = delete;
  sqlite_reader& operator=(const sqlite_reader&) = delete;

  // Events with seq > after (and the given topic, if any), ascending seq, at most `limit`.
  boost::system::error_code events(const std::optional<std::string>& topic, std::int64_t after,
                                   std::int64_t limit, std::vector<stored_event>& out);

  const std::string& last_error() const noexcept { return error_; }

 private:
  boost::system::error_code topic_events(const std::string& topic, std::int64_t after,
                                         std::int64_t limit, std::vector<stored_event>& out);

  sqlite3* db_ = nullptr;
  statement all_, topic_blocks_, one_;
  std::string error_;
};

}  // namespace agg::store
