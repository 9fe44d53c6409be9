#pragma once

// The invariants the fuzz targets check, as plain functions: the libFuzzer entry points
// (fuzz_publish_parser.cpp, fuzz_http_request.cpp) trap when one fails, and the regression
// test (fuzz_regression_tests.cpp) runs every seed and every saved crash through the same
// functions under Boost.Test, with any compiler.

#include "ingest/limits.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace agg::fuzz {

// Limits of the HTTP front: the session's own.
using ingest::header_limit;
// Body limit of the HTTP target: small so that the fuzzer reaches the 413 path. Overridden by
// the environment variable AGG_FUZZ_BODY_LIMIT (bytes).
inline constexpr std::size_t default_body_limit = 4096;

// parse_publish(body, max_batch) for max_batch 10000 (the default) and 2, checking:
// - ok: 1..max_batch events, each passing the contract's field rules (checked here
//   independently of api/validation.cpp), the fields equal the body's members, the payload
//   re-parses as a JSON object equal (as a value, and by hash_json_value) to the sent one,
//   and key_hash/content_hash are those of the event;
// - error: code is invalid_json, too_large or validation_failed with a message, no events;
//   validation_failed has details (indexes in range, known fields) or says the batch is empty;
//   the error body built by api::error_reply is a JSON object {error, message, details};
// - the two limits agree (ok with n events at 10000 <=> ok at 2 when n <= 2, else too_large);
// - a body that boost::json rejects (depth 300) is never ok.
// Returns "" when every invariant holds, else what failed.
std::string check_publish(std::string_view body);

// Feeds `bytes` to Beast's request_parser with the session's limits (header 16 KiB, body
// `body_limit`), request after request (pipelining) as the session does, then for each complete
// request api::route and, for POST /publish with a JSON (or absent) Content-Type,
// check_publish(body). Checks that errors are Beast HTTP errors, the body never exceeds the
// limit, route's replies are 404 or 405 with Allow and JSON bodies.
std::string check_http(std::string_view bytes, std::size_t body_limit);

// An NDJSON body through api::ndjson_lines and parse_publish (all or nothing and lenient),
// checking: the splitter yields non-blank lines in order, with their numbers, that are exactly
// the body's lines; each line is accepted as an event iff the JSON path accepts it alone as a
// single event object (same fields and hashes); lenient keeps exactly the valid events with the
// details the strict mode reports; indexes and line numbers are in range.
std::string check_ndjson(std::string_view body);

// The decoder front: `bytes` is "<Content-Type>\n<Content-Encoding>\n<Prefer>\n<body>" (a
// missing line is an absent header; a header line "-" too). decide_body_format, then the body
// through api::body_decoder in one piece and in small pieces (same outcome, same bytes), the
// decoded size within the limit (decoder_limit), a decoded body that re-compresses to the
// same bytes, then parse_publish with that format (check_publish for plain JSON, check_ndjson
// for NDJSON).
inline constexpr std::size_t decoder_limit = 1 << 16;
std::string check_decoder(std::string_view bytes);

// Credential parsing (--auth on). `bytes` = "<Authorization value>\n<request target>\n<token>"
// (a missing line is empty): auth::parse_authorization (a token it yields is a non-empty
// b64token), base64url decoding (what decodes re-encodes to the same text), scrub_target (no
// access_token value survives it; idempotent), and the JWT verifier on the token as sent and
// re-signed with the verifier's HS256 secret (same answer twice; a token it accepts carries an
// exp not past the skew).
std::string check_credentials(std::string_view bytes);

// AGG_FUZZ_BODY_LIMIT or default_body_limit.
std::size_t body_limit_from_env();

}  // namespace agg::fuzz
