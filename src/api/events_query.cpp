#include "api/events_query.hpp"

#include <charconv>

namespace agg::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return true;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

events_query parse_events_query(std::string_view query) {
  events_query q;
  std::string key, value;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (!decode(part.substr(0, eq), key) ||
        !decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), value)) {
      q.error = "malformed percent-encoding in the query string";
      return q;
    }
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
    }
  }
  return q;
}

}  // namespace agg::api
