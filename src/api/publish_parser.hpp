#pragma once

#include "api/body_format.hpp"
#include "core/errc.hpp"
#include "core/event.hpp"
#include "core/field_error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agg::api {

// Outcome of turning a /publish body into events. `code` is errc::ok with `events` filled, or
// the error (invalid_json, too_large, validation_failed) with its message and details.
struct parse_result {
  errc code = errc::ok;
  std::string message;
  // validation_failed: every invalid field of every event. Lenient and ok: the invalid fields
  // of the events left out (then `events` holds only the valid ones).
  std::vector<field_error> details;
  std::vector<event> events;
  // Lenient only: the request position of each of `events` (empty otherwise: event i is at i).
  std::vector<std::uint32_t> positions;
  // Events in the request, valid or not.
  std::size_t count = 0;
  // The bytes the events' fields view. A vector keeps its buffer when moved, so the views stay
  // valid wherever the result (or the job it is moved into) goes.
  std::vector<char> text;
  // Which path read the body: true when every event came through the one-pass reader, false
  // when the DOM reader answered (it answers every error, and what the one-pass reader does
  // not take: see parse_publish_reference).
  bool one_pass = false;
};

// The nesting a payload may have (the payload object itself is level 1).
inline constexpr std::size_t max_payload_depth = 256;

// Pure: body bytes (already decoded) -> validated events.
// JSON: one event object, an array of events, or {"events": [...]} (an object with an
// "events" member is always the wrapper), parsed as one document. NDJSON: one event object
// per non-blank line, each line parsed on its own (never one document for the body); a line
// that is not JSON is an invalid event, and details carry the line number.
// More than max_batch events is too_large; an empty batch is validation_failed; a body (or
// line) nested deeper than max_payload_depth in a payload is invalid_json.
// All or nothing (default): any invalid event is validation_failed listing every invalid field
// of every event. Lenient (format.lenient): ok with the valid events, the others in details.
parse_result parse_publish(std::string_view body, const body_format& format, std::size_t max_batch);
// JSON, all or nothing.
parse_result parse_publish(std::string_view body, std::size_t max_batch);

// The same answer through the DOM path alone: the reference that parse_publish's one-pass path
// (which hands every body it does not take to the DOM path) is checked against by the tests
// and fuzz_publish_parser. The service does not call it.
parse_result parse_publish_reference(std::string_view body, const body_format& format,
                                     std::size_t max_batch);

}  // namespace agg::api
