#pragma once

// JSON helpers for building request bodies and reading responses (boost::json).

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agg::test {

namespace json = boost::json;

// The default timestamp and source of make_event().
inline constexpr std::string_view default_timestamp = "2026-11-24T10:15:00.123Z";
inline constexpr std::string_view default_source = "http-tests";

// Parses `text` (nesting up to 100,000 levels, so deep payloads come back readable).
// Throws std::runtime_error quoting the start of the text when it is not JSON.
json::value parse_json(std::string_view text);
std::string to_text(json::value const& v);

// {"topic":…, "event_id":…, "timestamp":…, "source":…, "payload":…}
json::object make_event(std::string_view topic, std::string_view event_id,
                        json::object payload = {{"n", 1}},
                        std::string_view timestamp = default_timestamp,
                        std::string_view source = default_source);
// The three body shapes of POST /publish.
std::string single_body(json::object const& event);
std::string array_body(std::vector<json::object> const& events);
std::string envelope_body(std::vector<json::object> const& events);

// `levels` nested objects as text: levels == 1 gives {"d":0}, 2 gives {"d":{"d":0}}.
std::string nested_object_text(std::size_t levels);
// Number of nesting levels of a JSON value (a scalar is 0, {} is 1).
std::size_t depth_of(json::value const& v);

// Checked accessors: throw std::runtime_error naming the key when absent or mistyped.
json::object const& as_object(json::value const& v);
json::array const& as_array(json::value const& v);
std::int64_t as_int(json::value const& v);  // int64 or uint64 that fits
std::string as_string(json::value const& v);
json::value const& at(json::object const& o, std::string_view key);

}  // namespace agg::test
