#pragma once

#include "core/errc.hpp"

#include <boost/beast/http/fields.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// How a publish body is written (Content-Type) and encoded on the wire (Content-Encoding).
enum class media_type : std::uint8_t { json, ndjson };
enum class content_coding : std::uint8_t { identity, gzip, deflate };

// Everything the head of a publish says about its body, decided once per request by
// decide_body_format: the transport decodes the body with `coding` while reading it, check_head
// refuses it with `refusal` before reading it, and the publisher parses it as `media`.
struct body_format {
  media_type media = media_type::json;
  content_coding coding = content_coding::identity;
  // Prefer: handling=lenient: store the valid events and list the invalid ones (200) instead
  // of refusing the whole request (422).
  bool lenient = false;
  // unsupported_media_type when the type or the coding is one this service does not take;
  // `message` says which. errc::ok otherwise.
  errc refusal = errc::ok;
  std::string message;
};

// Pure. Content-Type: absent or application/json (parameters allowed) is JSON,
// application/x-ndjson (also application/ndjson and application/jsonl) is NDJSON, anything
// else is refused. Content-Encoding: absent, empty or identity; gzip (or x-gzip); deflate;
// anything else, or more than one coding, is refused. Prefer: handling=lenient among its
// preferences (RFC 7240) sets `lenient`. Names are case-insensitive.
body_format decide_body_format(std::optional<std::string_view> content_type,
                               std::optional<std::string_view> content_encoding,
                               std::optional<std::string_view> prefer = std::nullopt);
// The same from an HTTP head.
body_format decide_body_format(const boost::beast::http::fields& headers);

// The sanity limit on the encoded (compressed) size of a body whose decoded size may be
// `max_body`: the same number. Compression never pays on a body it makes larger, so a gzip
// body longer than what it may inflate to is refused (413) before inflating any of it; an
// identity body is simply held to it.
constexpr std::size_t max_encoded_size(std::size_t max_body) {
  return max_body;
}

const char* to_string(content_coding c) noexcept;

}  // namespace agg::api
