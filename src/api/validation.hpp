#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// Field rules of CONTRACT.md. Each returns nullopt when valid, else the human message for the
// 422 detail (without the field name). Inputs are already valid UTF-8 (the JSON parser checks).

// 1-255 bytes, no whitespace (ASCII or Unicode White_Space) and no control characters.
std::optional<std::string> check_topic(std::string_view s);
// 1-255 bytes, no control characters (C0, DEL, C1). Used for event_id and source.
std::optional<std::string> check_text(std::string_view s);
// RFC 3339 / ISO 8601 extended date-time: YYYY-MM-DD, 'T' (or 't' or ' '), hh:mm[:ss[.frac]],
// then 'Z', '±hh:mm', '±hhmm' or nothing (UTC). Calendar ranges are checked (Feb 29 only in
// leap years, second 60 allowed for leap seconds).
std::optional<std::string> check_timestamp(std::string_view s);

}  // namespace agg::api
