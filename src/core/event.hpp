#pragma once

#include <cstdint>
#include <string_view>

namespace agg {

// One validated event, ready for the consumer. The fields view bytes owned by the request
// that carried the event (one buffer per request, not five strings per event: the allocations
// were ~20% of the batched path). Strings are exactly as the publisher sent them (after JSON
// unescaping); `payload` is the payload re-serialised as compact JSON.
struct event {
  std::string_view topic;
  std::string_view event_id;
  std::string_view timestamp;
  std::string_view source;
  std::string_view payload;
  // Hash of (topic, event_id): selects the dedup-index slot. Never decides on its own.
  std::uint64_t key_hash = 0;
  // Hash of (timestamp, source, payload as a JSON value, key order ignored): tells a plain
  // duplicate from a conflict.
  std::uint64_t content_hash = 0;
};

enum class event_status : std::uint8_t { accepted, duplicate, conflict };

struct event_result {
  event_status status = event_status::accepted;
  std::int64_t seq = 0;  // the stored copy's sequence number
};

inline const char* to_string(event_status s) noexcept {
  switch (s) {
    case event_status::accepted:
      return "accepted";
    case event_status::duplicate:
      return "duplicate";
    case event_status::conflict:
      return "conflict";
  }
  return "accepted";
}

}  // namespace agg
