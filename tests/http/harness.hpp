#pragma once

// Black-box test harness for the aggregator binary: the process (server_process), HTTP
// over real sockets (http_client, raw_connection), JSON helpers (json_util) and a few
// helpers that speak the service's API. Independent of the test framework, so other
// suites (fault injection, soak runs) can reuse it.

#include "http_client.hpp"
#include "http_response.hpp"
#include "json_util.hpp"
#include "raw_connection.hpp"
#include "server_process.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agg::test {

// A client for `server`'s current port. Every start picks a new port (--port 0), so make
// a new client after restart().
inline http_client make_client(server_process const& server,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return http_client(server.host(), server.port(), timeout);
}

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(std::string_view s);

// GET /stats; throws std::runtime_error unless 200 with a JSON object.
json::object get_stats(http_client& client);

// Every stored event (optionally of one topic), by paging GET /events with
// after=next_after until an empty page. Throws std::runtime_error on a non-200 page,
// a page whose next_after is not its last seq, or too many pages.
std::vector<json::object> fetch_all_events(http_client& client, std::string_view topic = {},
                                           std::size_t page_limit = 1000);

// (topic, event_id) of an event or a result entry.
using event_key = std::pair<std::string, std::string>;
event_key key_of(json::object const& event);

// Sum of the values of stats.topic_counts.
std::int64_t sum_topic_counts(json::object const& stats);

}  // namespace agg::test
