#pragma once

#include <libpq-fe.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace agg::store {

struct pg_result_free {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, pg_result_free>;

// `uri` with any password replaced by "***", for messages and logs.
std::string redact_uri(std::string_view uri);

// One libpq connection, used by one thread at a time. Every call reports failure as a value:
// a null result with the reason in error(); broken() tells a lost server from a failed
// statement (a broken connection is thrown away and a new one made).
class pg_connection {
 public:
  // How long a statement may run, and a transaction sit idle, before the server ends it:
  // a stuck node must not hold the counter lock and stall every other node for long.
  struct limits {
    int statement_timeout_ms = 10000;
    int idle_in_transaction_ms = 5000;
  };

  // Connects (at most 3 s) and sets the session up: UTF8, synchronous_commit on (a 200 means
  // durable whatever the server's default), the limits above. Null with `error` on failure.
  static std::unique_ptr<pg_connection> connect(const std::string& uri, limits l,
                                                std::string& error);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // A statement with text parameters (each a NUL-terminated string). Returns the result when
  // it succeeded (command or rows), else null with the reason in error().
  pg_result exec(const char* sql, std::initializer_list<const char*> params = {});
  // exec() for statements whose result is not needed; false on failure.
  bool run(const char* sql, std::initializer_list<const char*> params = {}) {
    return exec(sql, params) != nullptr;
  }
  // exec() inside the open transaction, then COMMIT, in one round trip (libpq's pipeline
  // mode): the statement's result when both succeeded, else null with the reason in error().
  pg_result exec_and_commit(const char* sql, std::initializer_list<const char*> params);
  // Rolls back an open transaction, if any (after a failed statement).
  void rollback() noexcept;

  bool broken() const noexcept { return PQstatus(conn_) != CONNECTION_OK; }
  // !broken(), after reading what an idle connection has been sent meanwhile, without
  // waiting: a server that shut down or restarted has said goodbye and closed the socket, and
  // only a read shows it. Between statements only (outside one, nothing else is expected).
  bool alive() noexcept;
  const std::string& error() const noexcept { return error_; }
  PGconn* native() const noexcept { return conn_; }

 private:
  explicit pg_connection(PGconn* c) : conn_(c) {}
  PGconn* conn_;
  std::string error_;
};

// Appends `s` as one element to `out`, a PostgreSQL array literal being built (it starts with
// "{"; the caller adds the closing "}"): quoted, with " and \ escaped, comma-separated.
void append_array_element(std::string& out, std::string_view s);

}  // namespace agg::store
