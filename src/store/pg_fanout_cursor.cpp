// The fan-out cursor in PostgreSQL: a table of its own, and a session advisory lock per
// exchange on a connection of its own, so exactly one node publishes to an exchange.
#include "store/fanout_cursor.hpp"
#include "store/pg_connection.hpp"
#include "store/pg_store.hpp"

#include "core/errc.hpp"

#include <cstdlib>

namespace agg::store {
namespace {

// Created on first use under the schema's advisory lock (nodes doing it together would race
// on IF NOT EXISTS), so databases set up before the bridge existed keep their schema version.
constexpr const char* cursor_table =
    "CREATE TABLE IF NOT EXISTS agg_fanout_cursors(exchange text PRIMARY KEY, seq bigint NOT "
    "NULL)";
constexpr const char* schema_lock = "SELECT pg_advisory_xact_lock(1095190321)";

class pg_fanout_cursor final : public fanout_cursor {
 public:
  pg_fanout_cursor(std::string uri, std::string exchange)
      : uri_(std::move(uri)), exchange_(std::move(exchange)) {}

  bool acquire(std::string& error) override {
    if (conn_ && !conn_->broken() && locked_) return true;
    locked_ = false;
    if (!conn_ || conn_->broken()) {
      conn_ = pg_connection::connect(uri_, {}, error);
      if (!conn_) return false;
      if (!conn_->run("BEGIN") || !conn_->run(schema_lock) || !conn_->run(cursor_table) ||
          !conn_->run("COMMIT")) {
        error = conn_->error();
        conn_->rollback();
        return false;
      }
    }
    // hashtext() of a name of our own: the lock's key space is shared with other applications.
    const std::string key = "agg_fanout:" + exchange_;
    auto r = conn_->exec("SELECT pg_try_advisory_lock(hashtext($1))", {key.c_str()});
    if (!r) {
      error = conn_->error();
      return false;
    }
    locked_ = PQgetvalue(r.get(), 0, 0)[0] == 't';
    if (!locked_) error = "another node publishes to exchange " + exchange_;
    return locked_;
  }

  bool held() override {
    if (!conn_ || !locked_) return false;
    // A lost session has lost its lock: another node may be publishing already.
    if (!conn_->run("SELECT 1")) locked_ = false;
    return locked_;
  }

  boost::system::error_code load(std::int64_t& seq, std::string& error) override {
    seq = 0;
    if (!conn_) return make_error_code(errc::unavailable);
    auto r =
        conn_->exec("SELECT seq FROM agg_fanout_cursors WHERE exchange = $1", {exchange_.c_str()});
    if (!r) {
      error = conn_->error();
      return make_error_code(errc::unavailable);
    }
    if (PQntuples(r.get()) == 1) seq = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    return {};
  }

  boost::system::error_code save(std::int64_t seq, std::string& error) override {
    if (!conn_) return make_error_code(errc::unavailable);
    const std::string s = std::to_string(seq);
    if (!conn_->run("INSERT INTO agg_fanout_cursors(exchange, seq) VALUES ($1, $2) "
                    "ON CONFLICT (exchange) DO UPDATE SET seq = "
                    "GREATEST(agg_fanout_cursors.seq, EXCLUDED.seq)",
                    {exchange_.c_str(), s.c_str()})) {
      error = conn_->error();
      return make_error_code(errc::unavailable);
    }
    return {};
  }

 private:
  const std::string uri_;
  const std::string exchange_;
  std::unique_ptr<pg_connection> conn_;
  bool locked_ = false;
};

}  // namespace

std::unique_ptr<fanout_cursor> pg_store::open_fanout_cursor(const std::string& exchange) {
  return std::make_unique<pg_fanout_cursor>(uri_, exchange);
}

}  // namespace agg::store
