#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::api {

// Which topics a stream (or a permission) covers: exact topics and prefixes ("order.*" is the
// prefix "order."; "*" every topic). Empty: every topic.
struct topic_filter {
  std::vector<std::string> exact;     // sorted, unique
  std::vector<std::string> prefixes;  // without the '*'

  bool all() const noexcept { return exact.empty() && prefixes.empty(); }
  bool matches(std::string_view topic) const noexcept;
  // The one topic a store index can serve, when the filter is exactly one exact topic.
  std::optional<std::string> single_topic() const;
};

// GET /subscribe: topic (repeatable), after=<seq>|latest, or the Last-Event-ID header.
struct subscribe_query {
  topic_filter filter;
  std::optional<std::int64_t> after;  // nullopt: `latest`, the default
  std::string error;                  // non-empty: the 400 message
};

// Pure: parses the query string (without '?') and the Last-Event-ID header (nullopt when
// absent), which wins over `after`. Unknown parameters are ignored (`access_token` among them).
subscribe_query parse_subscribe_query(std::string_view query,
                                      std::optional<std::string_view> last_event_id);

}  // namespace agg::api
