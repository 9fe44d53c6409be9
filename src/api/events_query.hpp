#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// GET /events query: topic (exact), after (seq cursor), limit.
struct events_query {
  std::optional<std::string> topic;
  std::int64_t after = 0;     // default 0: from the first event
  std::int64_t limit = 1000;  // default 1000, 1..10000
  std::string error;          // non-empty: the 400 message
};

inline constexpr std::int64_t max_events_limit = 10000;

// Pure: parses the query string (without '?'). Percent-escapes and '+' are decoded; unknown
// parameters are ignored; a repeated parameter takes its last value.
events_query parse_events_query(std::string_view query);

}  // namespace agg::api
