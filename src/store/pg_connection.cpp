#include "store/pg_connection.hpp"

#include "store/pg_store.hpp"

#include <poll.h>

#include <vector>

namespace agg::store {

bool is_postgres_uri(std::string_view db) noexcept {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::string redact_uri(std::string_view uri) {
  // scheme://user:password@host...: the password is between the first ':' after the scheme
  // and the last '@' before the path.
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::string(uri);
  const auto auth_start = scheme_end + 3;
  const auto path_start = uri.find_first_of("/?", auth_start);
  const auto authority =
      uri.substr(auth_start, path_start == std::string_view::npos ? std::string_view::npos
                                                                  : path_start - auth_start);
  std::string out(uri.substr(0, auth_start));
  const auto at = authority.rfind('@');
  const auto colon = authority.find(':');
  if (at != std::string_view::npos && colon < at) {
    out.append(authority.substr(0, colon + 1)).append("***").append(authority.substr(at));
  } else {
    out.append(authority);
  }
  if (path_start != std::string_view::npos) {
    std::string rest(uri.substr(path_start));
    // A password may also come as a query parameter.
    const auto p = rest.find("password=");
    if (p != std::string::npos) {
      const auto end = rest.find('&', p);
      rest.replace(p + 9, end == std::string::npos ? std::string::npos : end - p - 9, "***");
    }
    out += rest;
  }
  return out;
}

std::unique_ptr<pg_connection> pg_connection::connect(const std::string& uri, limits l,
                                                      std::string& error) {
  // Defaults first: values in the URI (expanded from dbname) override them.
  const char* keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                        nullptr};
  const char* values[] = {"3", "aggregator", "UTF8", uri.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (!c) {
    error = "out of memory";
    return nullptr;
  }
  std::unique_ptr<pg_connection> conn(new pg_connection(c));
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    return nullptr;
  }
  const std::string setup =
      "SET synchronous_commit = on; SET statement_timeout = " +
      std::to_string(l.statement_timeout_ms) +
      "; SET idle_in_transaction_session_timeout = " + std::to_string(l.idle_in_transaction_ms);
  if (!conn->run(setup.c_str())) {
    error = conn->error();
    return nullptr;
  }
  return conn;
}

pg_connection::~pg_connection() {
  PQfinish(conn_);
}

pg_result pg_connection::exec(const char* sql, std::initializer_list<const char*> params) {
  pg_result r(params.size() == 0 ? PQexec(conn_, sql)
                                 : PQexecParams(conn_, sql, static_cast<int>(params.size()),
                                                nullptr, params.begin(), nullptr, nullptr, 0));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
  error_ = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_);
  if (error_.empty()) error_ = PQerrorMessage(conn_);
  while (!error_.empty() && (error_.back() == '\n' || error_.back() == ' ')) error_.pop_back();
  if (error_.empty()) error_ = "PostgreSQL statement failed";
  return nullptr;
}

bool pg_connection::alive() noexcept {
  // The goodbye (an error message) and the end of the stream may take one read each.
  for (int i = 0; i < 3 && !broken(); ++i) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (!PQconsumeInput(conn_)) break;
  }
  return !broken();
}

void pg_connection::rollback() noexcept {
  if (broken() || PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_, "ROLLBACK"));
}

void append_array_element(std::string& out, std::string_view s) {
  if (out.size() > 1) out += ',';
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace agg::store
