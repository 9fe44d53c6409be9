#pragma once

#include "core/errc.hpp"
#include "core/event.hpp"
#include "core/field_error.hpp"
#include "store/event_store.hpp"

#include <boost/beast/http/status.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace agg::api {

// A complete answer, before any transport frames it: status, body, and the headers some
// answers need.
struct reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;    // 405: the Allow header
  int retry_after = 0;  // 503 overloaded: seconds for Retry-After (0 = no header)
  bool close = false;   // close the connection after this answer (malformed HTTP)
  std::vector<std::pair<std::string, std::string>> headers;  // any other header, as written
};

// The single mapping from an error to its status and body
// {"error": "<code>", "message": "...", "details": [...]}.
reply error_reply(errc code, std::string_view message,
                  const std::vector<field_error>& details = {});

// Pure JSON shaping of the success bodies.
std::string publish_body(const std::vector<event>& events,
                         const std::vector<event_result>& results);
// Lenient mode: what was left out of a request. `positions[k]` is the request position of
// events[k] (and results[k]); every other position of the `count` is invalid, with its
// field errors in `details` (request order).
struct left_out {
  const std::vector<std::uint32_t>& positions;
  const std::vector<field_error>& details;
  std::size_t count = 0;
};
// {"received": stored + dropped, "accepted", "duplicates", "invalid": left out, "results": all
// `count` positions in request order, the invalid ones as {"index", "status": "invalid",
// "details"}}.
std::string publish_body(const std::vector<event>& events, const std::vector<event_result>& results,
                         const left_out& invalid);
std::string events_body(const std::vector<store::stored_event>& rows);
// The answer to a page read: the /events body, or 503 unavailable when the read failed.
reply page_reply(boost::system::error_code ec, const std::vector<store::stored_event>& rows);
// One event object exactly as /events shows it (also each /subscribe message).
void append_event_json(std::string& b, const store::stored_event& e);

// What /stats shows: the store's service-wide figures and this node's queue.
struct stats_snapshot : store::store_stats {
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
  std::size_t subscribers = 0;  // open /subscribe streams on this node
};
std::string stats_body(const stats_snapshot& s, double uptime_seconds, std::string_view started_at);

}  // namespace agg::api
