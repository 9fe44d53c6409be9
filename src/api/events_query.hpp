#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agg::api {

// GET /events query: topic (exact), after (seq cursor), limit, wait (long-poll).
struct events_query {
  std::optional<std::string> topic;
  std::int64_t after = 0;     // default 0: from the first event
  std::int64_t limit = 1000;  // default 1000, 1..10000
  std::int64_t wait = 0;      // seconds to hold an empty page for new events; default 0, 0..60
  std::string error;          // non-empty: the 400 message
};

inline constexpr std::int64_t max_events_limit = 10000;
inline constexpr std::int64_t max_events_wait = 60;

// Pure: parses the query string (without '?'). Percent-escapes and '+' are decoded; unknown
// parameters are ignored; a repeated parameter takes its last value.
events_query parse_events_query(std::string_view query);

// Pure: the query string (without '?') as decoded (key, value) pairs in their order, for
// parameters that may repeat (/subscribe's `topic=a&topic=b`). Percent-escapes and '+' (a space,
// as in HTML forms) are decoded in keys and values; "k" without '=' gives ("k", ""); empty
// parts ("a=1&&b=2") are skipped. Bytes a strict URL query does not allow ('[', '|', '"', UTF-8)
// are taken as they are, as clients send them. Error: a '%' not followed by two hex digits
// (a Boost.URL error code).
boost::system::result<std::vector<std::pair<std::string, std::string>>> decoded_params(
    std::string_view query);

}  // namespace agg::api
