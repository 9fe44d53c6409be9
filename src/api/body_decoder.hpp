#pragma once

#include "api/body_format.hpp"
#include "core/errc.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace agg::api {

// Decodes a body (Content-Encoding) piece by piece as it arrives, into a string that never
// grows past the decoded limit: a decompression bomb is refused after max_decoded + 1 bytes
// were produced, never inflated whole. No I/O: the HTTP session feeds it what it reads, the
// publisher a whole broker message (decode_body). gzip is RFC 1952 (several members in a row
// are one body, as `cat a.gz b.gz` makes); deflate is the zlib format (RFC 1950), as RFC 9110
// defines it.
class body_decoder {
 public:
  body_decoder(content_coding coding, std::size_t max_decoded);
  ~body_decoder();
  body_decoder(const body_decoder&) = delete;
  body_decoder& operator=(const body_decoder&) = delete;

  // Appends the decoding of `in` to `out`. errc::ok; too_large once `out` would hold more
  // than max_decoded bytes; invalid_json for bytes that are not a stream of the coding (or
  // follow its end). After an error every call returns that error again.
  errc write(std::string_view in, std::string& out);
  // The body ended: a compressed stream that did not reach its end is invalid_json.
  errc finish();

  // What went wrong, for the error body ("" while all is well).
  const std::string& message() const noexcept { return message_; }

 private:
  struct zstate;
  errc fail(errc code, std::string message);

  const content_coding coding_;
  const std::size_t max_decoded_;
  std::unique_ptr<zstate> z_;  // zlib's inflate state; null for identity
  bool ended_ = false;         // the compressed stream reached its end
  errc error_ = errc::ok;
  std::string message_;
};

// Pure: the whole of `in` decoded into `out` (replaced). The error as body_decoder reports
// it, its message in `message`.
errc decode_body(content_coding coding, std::string_view in, std::size_t max_decoded,
                 std::string& out, std::string& message);

// Pure: the inverse, for tests and tools: `in` encoded with zlib at `level` (1-9; gzip or
// the zlib format; identity returns `in`).
std::string encode_body(content_coding coding, std::string_view in, int level = 6);

}  // namespace agg::api
