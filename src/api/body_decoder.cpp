#include "api/body_decoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <new>

namespace agg::api {

struct body_decoder::zstate {
  z_stream s{};
};

namespace {

// Appends to `out`, growing it by doubling but never past `cap` bytes of capacity: the
// default doubling would take 2 x --max-body for a body one byte over the limit.
void append_capped(std::string& out, const char* p, std::size_t n, std::size_t cap) {
  if (out.size() + n > out.capacity())
    out.reserve(std::max(out.size() + n, std::min(cap, 2 * out.capacity())));
  out.append(p, n);
}

}  // namespace

body_decoder::body_decoder(content_coding coding, std::size_t max_decoded)
    : coding_(coding), max_decoded_(max_decoded) {
  if (coding_ == content_coding::identity) return;
  z_ = std::make_unique<zstate>();
  // 16 + 15: gzip wrapper, 32 KiB window; 15: zlib wrapper. ~44 KiB of state per body.
  const int bits = coding_ == content_coding::gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (inflateInit2(&z_->s, bits) != Z_OK) {
    z_.reset();
    fail(errc::unavailable, "cannot start the decoder: out of memory");
  }
}

body_decoder::~body_decoder() {
  if (z_) inflateEnd(&z_->s);
}

errc body_decoder::fail(errc code, std::string message) {
  error_ = code;
  message_ = std::move(message);
  return code;
}

errc body_decoder::write(std::string_view in, std::string& out) {
  if (error_ != errc::ok) return error_;
  if (!z_) {
    if (in.size() > max_decoded_ - std::min(max_decoded_, out.size()))
      return fail(errc::too_large,
                  "body is larger than the limit of " + std::to_string(max_decoded_) + " bytes");
    append_capped(out, in.data(), in.size(), max_decoded_);
    return errc::ok;
  }
  auto& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  // Inflated into a small buffer, then appended: `out` grows only by what was produced.
  unsigned char buf[16384];
  // Until the input is taken and nothing is pending: a call that fills the buffer may hold
  // more output (a long match) even when it has taken all the input.
  for (;;) {
    if (ended_) {
      if (s.avail_in == 0) break;
      if (coding_ != content_coding::gzip)
        return fail(errc::invalid_json, "data follows the end of the deflate stream");
      inflateReset(&s);  // another gzip member
      ended_ = false;
    }
    // One byte past the limit is enough to know that the body is over it.
    const std::size_t room = max_decoded_ + 1 - std::min(max_decoded_, out.size());
    const std::size_t offered = std::min(room, sizeof buf);
    s.next_out = buf;
    s.avail_out = static_cast<uInt>(offered);
    const int rc = inflate(&s, Z_NO_FLUSH);
    append_capped(out, reinterpret_cast<const char*>(buf), offered - s.avail_out, max_decoded_ + 1);
    if (out.size() > max_decoded_)
      return fail(errc::too_large, "decoded body is larger than the limit of " +
                                       std::to_string(max_decoded_) + " bytes");
    if (rc == Z_STREAM_END) {
      ended_ = true;
      continue;
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible: needs more input
    if (rc != Z_OK)
      return fail(errc::invalid_json, std::string("body is not a valid ") + to_string(coding_) +
                                          " stream: " + (s.msg ? s.msg : "corrupt data"));
    if (s.avail_in == 0 && s.avail_out != 0) break;  // all taken, nothing pending
  }
  return errc::ok;
}

errc body_decoder::finish() {
  if (error_ != errc::ok) return error_;
  if (z_ && !ended_)
    return fail(errc::invalid_json,
                std::string("the ") + to_string(coding_) + " stream is truncated: it ends early");
  return errc::ok;
}

errc decode_body(content_coding coding, std::string_view in, std::size_t max_decoded,
                 std::string& out, std::string& message) {
  out.clear();
  body_decoder d(coding, max_decoded);
  errc e = d.write(in, out);
  if (e == errc::ok) e = d.finish();
  message = d.message();
  return e;
}

std::string encode_body(content_coding coding, std::string_view in, int level) {
  if (coding == content_coding::identity) return std::string(in);
  z_stream s{};
  const int bits = coding == content_coding::gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (deflateInit2(&s, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out(deflateBound(&s, static_cast<uLong>(in.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);  // deflateBound leaves room for all of it
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

}  // namespace agg::api
