#include "api/validation.hpp"

#include "core/swar.hpp"

#include <cstdint>

namespace agg::api {
namespace {

constexpr std::size_t max_bytes = 255;

// Decodes the UTF-8 code point at s[i] (input is valid UTF-8) and advances i.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = b0 >= 0xf0 ? 3 : b0 >= 0xe0 ? 2 : 1;
  char32_t cp = b0 & (0x3f >> extra);
  while (extra-- > 0 && i < s.size()) cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3f);
  return cp;
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

bool is_space(char32_t c) {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

std::optional<std::string> check_length(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > max_bytes)
    return "must be at most 255 bytes (got " + std::to_string(s.size()) + ")";
  return std::nullopt;
}

// Reads exactly n digits at s[pos] into out.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
  out = 0;
  for (int k = 0; k < n; ++k, ++pos) {
    if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return false;
    out = out * 10 + (s[pos] - '0');
  }
  return true;
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

// Whether the eight bytes at s[i] are all printable ASCII, from `lowest` to '~' (SWAR: a yes
// for a whole word skips the code point decoding, which only non-ASCII text needs).
bool plain_word(std::string_view s, std::size_t i, std::uint64_t lowest) {
  const std::uint64_t x = swar::load8(s.data() + i);
  return !swar::has_high(x) && !swar::has_less(x, lowest) && !swar::has_byte(x, 0x7f);
}

}  // namespace

std::optional<std::string> check_topic(std::string_view s) {
  if (auto e = check_length(s)) return e;
  for (std::size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size() && plain_word(s, i, 0x21)) {  // no space, no control
      i += 8;
      continue;
    }
    const char32_t c = next_code_point(s, i);
    if (is_control(c) || is_space(c)) return "must not contain whitespace or control characters";
  }
  return std::nullopt;
}

std::optional<std::string> check_text(std::string_view s) {
  if (auto e = check_length(s)) return e;
  for (std::size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size() && plain_word(s, i, 0x20)) {
      i += 8;
      continue;
    }
    if (is_control(next_code_point(s, i))) return "must not contain control characters";
  }
  return std::nullopt;
}

std::optional<std::string> check_timestamp(std::string_view s) {
  // A literal, not a std::string: this runs for every event, and the message only on errors.
  static constexpr const char* bad =
      "must be an ISO 8601 / RFC 3339 date and time such as 2026-11-24T10:15:00Z";
  std::size_t p = 0;
  int y, mo, d, h, mi, sec = 0;
  if (!digits(s, p, 4, y) || p >= s.size() || s[p++] != '-' || !digits(s, p, 2, mo) ||
      p >= s.size() || s[p++] != '-' || !digits(s, p, 2, d))
    return bad;
  if (p >= s.size())
    return "must include a time of day (e.g. 2026-11-24T10:15:00Z), not only a date";
  if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return bad;
  ++p;
  if (!digits(s, p, 2, h) || p >= s.size() || s[p++] != ':' || !digits(s, p, 2, mi)) return bad;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!digits(s, p, 2, sec)) return bad;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      const std::size_t start = ++p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
      if (p == start) return bad;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
    return "is not a real date and time";
  if (p == s.size()) return std::nullopt;  // no offset: UTC
  if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == s.size()) return std::nullopt;
  if (s[p] != '+' && s[p] != '-') return bad;
  ++p;
  int oh, om;
  if (!digits(s, p, 2, oh)) return bad;
  if (p < s.size() && s[p] == ':') ++p;
  if (!digits(s, p, 2, om) || p != s.size()) return bad;
  if (oh > 23 || om > 59) return "has an offset out of range";
  return std::nullopt;
}

}  // namespace agg::api
