#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agg::auth {

// What a request presented, read from its headers (and, for /subscribe, its query).
struct presented {
  enum kind_t { none, bearer, malformed } kind = none;  // bearer: a token was given
  std::string token;                                    // the API key or JWT, when kind == bearer
};

// Pure: the value of an Authorization header. "Bearer <token>" (scheme case-insensitive);
// "Basic <base64(key:)>" with the key as user name and an empty password. Anything else — an
// unknown scheme, bad base64, a Basic password that is not empty, a token with characters
// outside RFC 6750's b64token — is `malformed`.
presented parse_authorization(std::string_view value);

// Pure: the raw (still percent-encoded) value of the first `access_token` in a query string
// (without '?'), decoded; nullopt when absent.
std::optional<std::string> access_token_param(std::string_view query);

// Pure: `target` with the value of every access_token parameter replaced by "***", for
// anything that logs a request target.
std::string scrub_target(std::string_view target);

// Pure: base64url without padding (JWT segments) or standard base64 with padding (Basic),
// decoded; nullopt on a character outside the alphabet or a bad length.
std::optional<std::string> base64url_decode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);
std::string base64url_encode(std::string_view in);

}  // namespace agg::auth
