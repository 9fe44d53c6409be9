#include "api/subscribe_query.hpp"

#include "api/events_query.hpp"
#include "api/validation.hpp"

#include <algorithm>
#include <charconv>

namespace agg::api {
namespace {

// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF): check_topic's premise.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c < 0x80)
      n = 0;
    else if (c >= 0xC2 && c <= 0xDF)
      n = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
      return false;
    if (s.size() - i <= n) return n == 0;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

bool parse_seq(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size() && out >= 0;
}

// Adds one `topic` value to the filter; returns the 400 message when it is not a topic or a
// pattern any topic could match.
std::optional<std::string> add_topic(topic_filter& f, const std::string& value) {
  if (value.empty()) return "topic must not be empty";
  if (!valid_utf8(value)) return "topic must be UTF-8";
  const bool pattern = value.back() == '*';
  const std::string_view name =
      pattern ? std::string_view(value).substr(0, value.size() - 1) : std::string_view(value);
  if (!(pattern && name.empty()))
    if (auto bad = check_topic(name)) return "topic " + *bad;
  (pattern ? f.prefixes : f.exact).emplace_back(name);
  return std::nullopt;
}

}  // namespace

bool topic_filter::matches(std::string_view topic) const noexcept {
  if (all()) return true;
  for (const auto& p : prefixes)
    if (topic.starts_with(p)) return true;
  return std::binary_search(exact.begin(), exact.end(), topic);
}

std::optional<std::string> topic_filter::single_topic() const {
  if (prefixes.empty() && exact.size() == 1) return exact.front();
  return std::nullopt;
}

subscribe_query parse_subscribe_query(std::string_view query,
                                      std::optional<std::string_view> last_event_id) {
  subscribe_query q;
  const auto params = decoded_params(query);
  if (!params) {
    q.error = "malformed percent-encoding in the query string";
    return q;
  }
  bool any_all = false;
  for (const auto& [key, value] : *params) {
    if (key == "topic") {
      if (auto bad = add_topic(q.filter, value)) {
        q.error = std::move(*bad);
        return q;
      }
      any_all = any_all || value == "*";
    } else if (key == "after") {
      std::int64_t seq = 0;
      if (value == "latest") {
        q.after.reset();
      } else if (parse_seq(value, seq)) {
        q.after = seq;
      } else {
        q.error = "after must be a non-negative integer sequence number or 'latest'";
        return q;
      }
    }
  }
  if (last_event_id) {
    std::int64_t seq = 0;
    if (!parse_seq(*last_event_id, seq)) {
      q.error = "Last-Event-ID must be a non-negative integer sequence number";
      return q;
    }
    q.after = seq;
  }
  auto& f = q.filter;
  if (any_all) {
    f = {};  // "*" covers every other filter
  } else {
    std::sort(f.exact.begin(), f.exact.end());
    f.exact.erase(std::unique(f.exact.begin(), f.exact.end()), f.exact.end());
  }
  return q;
}

}  // namespace agg::api
