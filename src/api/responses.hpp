#pragma once

#include "consumer/consumer.hpp"
#include "core/errc.hpp"
#include "core/event.hpp"
#include "core/field_error.hpp"
#include "store/sqlite_reader.hpp"

#include <boost/beast/http/status.hpp>

#include <string>
#include <vector>

namespace agg::api {

// An HTTP answer before it meets Beast: status, JSON body, and the headers some errors need.
struct reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string allow;    // 405: the Allow header
  int retry_after = 0;  // 503 overloaded: seconds for Retry-After (0 = no header)
  bool close = false;   // close the connection after this answer (malformed HTTP)
};

// The single mapping from an error to its status and body
// {"error": "<code>", "message": "...", "details": [...]}.
reply error_reply(errc code, std::string_view message,
                  const std::vector<field_error>& details = {});

// The whole HTTP/1.x response as bytes: status line, Server, Content-Type, Content-Length,
// Allow / Retry-After when set, Connection when it differs from the version's default, then
// the body (left out for HEAD, with the GET body's Content-Length). version is 10 or 11.
std::string serialize_reply(const reply& r, unsigned version, bool keep_alive, bool head);

// Pure JSON shaping of the success bodies.
std::string publish_body(const std::vector<event>& events,
                         const std::vector<event_result>& results);
std::string events_body(const std::vector<store::stored_event>& rows);
std::string stats_body(const consumer::stats_snapshot& s, double uptime_seconds,
                       std::string_view started_at);

}  // namespace agg::api
