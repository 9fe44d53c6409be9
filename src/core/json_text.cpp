#include "core/json_text.hpp"

#include "core/swar.hpp"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace agg {
namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  // splitmix64 finaliser: FNV's low bits are weak, and the dedup index uses low bits.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr std::uint64_t combine(std::uint64_t h, std::uint64_t v) noexcept {
  return mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

// Type tags keep "1" (string) and 1 (number) apart, and [] apart from {}.
enum : std::uint64_t { tag_null = 1, tag_bool, tag_number, tag_string, tag_array, tag_object };

// Numbers hash by value, whatever form the parser gave them: an integral value that fits in
// int64 hashes as that integer (so 1, 1.0 and 1e0 agree, and a double printed as digits and
// parsed back as an integer keeps its hash); other values by their unsigned or double form.
std::uint64_t hash_integer(std::int64_t i) noexcept {
  return combine(tag_number, static_cast<std::uint64_t>(i));
}

std::uint64_t hash_unsigned(std::uint64_t u) noexcept {
  if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return hash_integer(static_cast<std::int64_t>(u));
  return combine(tag_number + 16, u);
}

std::uint64_t hash_double(double d) noexcept {
  constexpr double two63 = 9223372036854775808.0;
  if (std::isnan(d)) return hash_integer(0);  // 0e+310 as Boost.JSON parses it: see above
  if (std::trunc(d) == d) {
    if (d >= -two63 && d < two63) return hash_integer(static_cast<std::int64_t>(d));
    if (d >= 0 && d < 2 * two63) return hash_unsigned(static_cast<std::uint64_t>(d));
  }
  std::uint64_t bits = 0;
  static_assert(sizeof bits == sizeof d);
  std::memcpy(&bits, &d, sizeof bits);
  return combine(tag_number + 32, bits);
}

// The first byte at or after `i` that JSON needs escaped ('"', '\\', control), or s.size().
// Payload strings are mostly plain: whole words of them are skipped.
std::size_t next_to_escape(std::string_view s, std::size_t i) noexcept {
  for (; i + 8 <= s.size(); i += 8) {
    const std::uint64_t x = swar::load8(s.data() + i);
    if (swar::has_less(x, 0x20) || swar::has_byte(x, '"') || swar::has_byte(x, '\\')) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return i;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = next_to_escape(s, 0); i < s.size(); i = next_to_escape(s, run)) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_json_value(std::string& out, const boost::json::value& v) {
  char buf[32];
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out.append(buf, r.ptr);
      return;
    }
    case boost::json::kind::uint64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out.append(buf, r.ptr);
      return;
    }
    case boost::json::kind::double_:
      append_json_double(out, v.get_double());
      return;
    case boost::json::kind::string: {
      const auto& s = v.get_string();
      append_json_string(out, std::string_view(s.data(), s.size()));
      return;
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_value(out, e);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, std::string_view(kv.key().data(), kv.key().size()));
        out.push_back(':');
        append_json_value(out, kv.value());
      }
      out.push_back('}');
      return;
    }
  }
}

void append_json_double(std::string& out, double d) {
  // JSON has no inf/nan. Boost.JSON 1.81 yields inf for out-of-range literals like 1e999
  // (written back as such), and NaN for a zero with a huge exponent like 0e+310, whose
  // value is 0 (found by fuzz_publish_parser).
  if (std::isnan(d)) {
    out += '0';
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "1e999" : "-1e999";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
  std::uint64_t h = fnv_offset ^ seed;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= fnv_prime;
  }
  return mix(h);
}

namespace json_hash {

std::uint64_t null_value() noexcept {
  return mix(tag_null);
}

std::uint64_t boolean(bool b) noexcept {
  return combine(tag_bool, b ? 1 : 0);
}

std::uint64_t int64(std::int64_t i) noexcept {
  return hash_integer(i);
}

std::uint64_t uint64(std::uint64_t u) noexcept {
  return hash_unsigned(u);
}

std::uint64_t double_(double d) noexcept {
  return hash_double(d);
}

std::uint64_t string(std::string_view s) noexcept {
  return combine(tag_string, hash_bytes(s));
}

std::uint64_t array_begin() noexcept {
  return mix(tag_array);
}

std::uint64_t array_add(std::uint64_t h, std::uint64_t element) noexcept {
  return combine(h, element);  // ordered
}

std::uint64_t key(std::string_view name) noexcept {
  return hash_bytes(name, tag_object);
}

// Order-independent: objects sum their members' hashes.
std::uint64_t member(std::uint64_t key, std::uint64_t value) noexcept {
  return combine(key, value);
}

std::uint64_t object(std::uint64_t member_sum) noexcept {
  return combine(tag_object, member_sum);
}

}  // namespace json_hash

std::uint64_t hash_json_value(const boost::json::value& v) noexcept {
  auto view = [](const boost::json::string& s) { return std::string_view(s.data(), s.size()); };
  switch (v.kind()) {
    case boost::json::kind::null:
      return json_hash::null_value();
    case boost::json::kind::bool_:
      return json_hash::boolean(v.get_bool());
    case boost::json::kind::int64:
      return json_hash::int64(v.get_int64());
    case boost::json::kind::uint64:
      return json_hash::uint64(v.get_uint64());
    case boost::json::kind::double_:
      return json_hash::double_(v.get_double());
    case boost::json::kind::string:
      return json_hash::string(view(v.get_string()));
    case boost::json::kind::array: {
      std::uint64_t h = json_hash::array_begin();
      for (const auto& e : v.get_array()) h = json_hash::array_add(h, hash_json_value(e));
      return h;
    }
    case boost::json::kind::object: {
      // The parser keeps the last of duplicate keys, so each key counts once.
      std::uint64_t sum = 0;
      for (const auto& kv : v.get_object())
        sum += json_hash::member(json_hash::key(view(kv.key())), hash_json_value(kv.value()));
      return json_hash::object(sum);
    }
  }
  return 0;
}

std::uint64_t key_hash(std::string_view topic, std::string_view event_id) noexcept {
  return hash_bytes(event_id, hash_bytes(topic));
}

}  // namespace agg
