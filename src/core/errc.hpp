#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace agg {

// Expected failures of the service, as values. Each maps to one HTTP status and error code in
// api/responses.cpp (the single place that does that mapping).
enum class errc {
  ok = 0,
  invalid_json,            // 400: not JSON, not UTF-8, too deep, or not one of the three shapes
  too_large,               // 413: body over --max-body or more events than --max-batch
  unsupported_media_type,  // 415: Content-Type is not application/json
  validation_failed,       // 422: empty batch or an invalid event
  overloaded,              // 503: the intake queue cannot take the whole request now
  unavailable,             // 503: the store failed (sticky)
  shutting_down,           // 503: SIGTERM received, no new work admitted
  method_not_allowed,      // 405
  not_found,               // 404
  bad_query,               // 400: a bad query-string value
  bad_request,             // 400: malformed HTTP
  header_too_large,        // 431
  unauthorized,            // 401: no credential, or an unknown, revoked, expired or bad one
  forbidden,               // 403: the credential lacks the scope or the topic
};

// The contract's error code for `e` ("invalid_json", "too_large", ...): the "error" field of
// every error body and the message of the error category.
const char* to_string(errc e) noexcept;

const boost::system::error_category& agg_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), agg_category()};
}

}  // namespace agg

template <>
struct boost::system::is_error_code_enum<agg::errc> : std::true_type {};
