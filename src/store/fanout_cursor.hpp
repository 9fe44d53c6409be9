#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>

namespace agg::store {

// The RabbitMQ fan-out's hold on one exchange: its cursor (the last seq the broker confirmed,
// kept per exchange name in a small table of the store) and, with a shared store, the right
// to publish to it (one node at a time). Each object has its own connection to the store and
// is used by one thread, the fan-out's; every call may block.
class fanout_cursor {
 public:
  virtual ~fanout_cursor() = default;

  // Tries to become the exchange's one publisher. SQLite: always (one process serves the
  // file). PostgreSQL: a session advisory lock on the cursor's own connection, so it is
  // released when the node dies or loses the server, and another node takes over. False with
  // the reason in `error` when another node holds it or the store is unreachable.
  virtual bool acquire(std::string& error) = 0;
  // Whether the hold taken by acquire() is still there (PostgreSQL: the connection is alive).
  virtual bool held() = 0;

  // 0 when no cursor is kept for the exchange yet (a new exchange starts at the beginning).
  virtual boost::system::error_code load(std::int64_t& seq, std::string& error) = 0;
  // Never moves the cursor back.
  virtual boost::system::error_code save(std::int64_t seq, std::string& error) = 0;
};

}  // namespace agg::store
