#include "api/events_query.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/pchars.hpp>

#include <charconv>

namespace agg::api {
namespace {

namespace urls = boost::urls;

// What RFC 3986 allows in a query besides percent-escapes.
constexpr auto query_chars = urls::pchars + '/' + '?';

// `query` with every byte a strict query does not allow escaped (NUL among them), and its '%'
// left alone so that Boost.URL still checks the escapes already there.
std::string escape_raw_bytes(std::string_view query) {
  std::string out;
  out.reserve(query.size());
  for (std::size_t start = 0;;) {
    const std::size_t pct = query.find('%', start);
    urls::encode(query.substr(start, pct == std::string_view::npos ? pct : pct - start),
                 query_chars, {}, urls::string_token::append_to(out));
    if (pct == std::string_view::npos) return out;
    out.push_back('%');
    start = pct + 1;
  }
}

bool parse_int(const std::string& s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

boost::system::result<std::vector<std::pair<std::string, std::string>>> decoded_params(
    std::string_view query) {
  // Beast hands over any visible byte in the target; Boost.URL's parser takes only what RFC 3986
  // allows, so the rest is escaped first: a raw UTF-8 or '|' in a topic is still taken.
  // Boost.URL 1.81's parse_query also reads its argument up to a NUL, past the end of the view
  // (boostorg/url#757, #946: the rest of the request line became the last value, and an empty
  // query crashed), so it gets this NUL-terminated copy, with no NUL inside.
  const std::string text = escape_raw_bytes(query);
  const auto params = urls::parse_query(text);
  if (!params) return params.error();
  const urls::encoding_opts form(/*space_as_plus=*/true);
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(params->size());
  for (const urls::param_pct_view p : *params) {
    if (p.key.empty() && !p.has_value) continue;  // "a=1&&b=2"
    out.emplace_back(p.key.decode(form), p.value.decode(form));
  }
  return out;
}

events_query parse_events_query(std::string_view query) {
  events_query q;
  const auto params = decoded_params(query);
  if (!params) {
    q.error = "malformed percent-encoding in the query string";
    return q;
  }
  for (const auto& [key, value] : *params) {
    if (key == "topic") {
      if (value.empty()) {
        q.error = "topic must not be empty";
        return q;
      }
      q.topic = value;
    } else if (key == "after") {
      if (!parse_int(value, q.after) || q.after < 0) {
        q.error = "after must be a non-negative integer sequence number";
        return q;
      }
    } else if (key == "limit") {
      if (!parse_int(value, q.limit) || q.limit < 1 || q.limit > max_events_limit) {
        q.error = "limit must be an integer from 1 to 10000";
        return q;
      }
    } else if (key == "wait") {
      if (!parse_int(value, q.wait) || q.wait < 0 || q.wait > max_events_wait) {
        q.error = "wait must be an integer number of seconds from 0 to 60";
        return q;
      }
    }
  }
  return q;
}

}  // namespace agg::api
