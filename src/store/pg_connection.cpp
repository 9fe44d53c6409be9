#include "store/pg_connection.hpp"

#include "store/pg_store.hpp"

#include <poll.h>

#include <vector>

namespace agg::store {
namespace {

// libpq's messages end in a newline.
void trim_end(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
}

}  // namespace

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
    trim_end(error);
    return nullptr;
  }
  // jit off: the planner's guesses for tables not analysed yet (agg_counters x agg_topics in
  // /stats: a million rows) passed jit_above_cost, and compiling made each /stats take 4 ms
  // on an idle server (1.2 ms without), 9-14 ms under load; every statement here is a short
  // lookup or a group's insert.
  const std::string setup =
      "SET synchronous_commit = on; SET jit = off; SET statement_timeout = " +
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
  trim_end(error_);
  if (error_.empty()) error_ = "PostgreSQL statement failed";
  return nullptr;
}

pg_result pg_connection::exec_and_commit(const char* sql,
                                         std::initializer_list<const char*> params) {
  auto fail = [this](const char* why) {
    error_ = why;
    const std::string libpq = PQerrorMessage(conn_);
    if (!libpq.empty()) error_ += ": " + libpq;
    trim_end(error_);
    return nullptr;
  };
  if (!PQenterPipelineMode(conn_)) return fail("cannot enter pipeline mode");
  if (!PQsendQueryParams(conn_, sql, static_cast<int>(params.size()), nullptr, params.begin(),
                         nullptr, nullptr, 0) ||
      !PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) ||
      !PQpipelineSync(conn_)) {
    PQexitPipelineMode(conn_);
    return fail("cannot send");
  }
  // The answers, in order: the statement's result, a null; COMMIT's, a null; the sync. A
  // failed statement makes COMMIT's PGRES_PIPELINE_ABORTED. A lost connection ends it early.
  pg_result first;
  bool committed = false;
  std::string why;
  for (int answers = 0; !broken();) {
    pg_result r(PQgetResult(conn_));
    if (!r) continue;
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    if (status == PGRES_FATAL_ERROR && why.empty()) why = PQresultErrorMessage(r.get());
    if (answers++ == 0) {
      if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) first = std::move(r);
    } else {
      // A transaction that failed underneath "commits" as ROLLBACK.
      committed = status == PGRES_COMMAND_OK && std::string_view(PQcmdStatus(r.get())) == "COMMIT";
    }
  }
  if (broken()) return fail("lost the connection");
  PQexitPipelineMode(conn_);
  if (!first || !committed) {
    error_ = why.empty() ? "PostgreSQL statement failed" : why;
    trim_end(error_);
    return nullptr;
  }
  return first;
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
