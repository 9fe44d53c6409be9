#pragma once

#include "core/errc.hpp"
#include "core/event.hpp"
#include "core/field_error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agg::api {

// Outcome of turning a /publish body into events. `code` is errc::ok with `events` filled, or
// the error (invalid_json, too_large, validation_failed) with its message and details.
struct parse_result {
  errc code = errc::ok;
  std::string message;
  std::vector<field_error> details;
  std::vector<event> events;
  // The bytes the events' fields view. A vector keeps its buffer when moved, so the views stay
  // valid wherever the result (or the job it is moved into) goes.
  std::vector<char> text;
};

// The nesting a payload may have (the payload object itself is level 1).
inline constexpr std::size_t max_payload_depth = 256;

// Pure: body bytes -> validated events, all or nothing. Accepts one event object, an array of
// events, or {"events": [...]} (an object with an "events" member is always the wrapper).
// More than max_batch events is too_large; an empty batch or any invalid event is
// validation_failed listing every invalid field of every event.
parse_result parse_publish(std::string_view body, std::size_t max_batch);

}  // namespace agg::api
