#pragma once

#include <cstddef>
#include <string>

namespace agg {

// One entry of a 422's "details": which event of the request, which field, what is wrong.
struct field_error {
  std::size_t index = 0;  // position of the event in the request (0 for a single event)
  std::string field;      // "topic", "event_id", "timestamp", "source", "payload" or "event"
  std::string message;
  std::size_t line = 0;  // NDJSON: the event's 1-based line in the body; 0 otherwise
};

}  // namespace agg
