#include "core/json_text.hpp"

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

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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
    case boost::json::kind::double_: {
      const double d = v.get_double();
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
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      return;
    }
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

std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
  std::uint64_t h = fnv_offset ^ seed;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= fnv_prime;
  }
  return mix(h);
}

std::uint64_t hash_json_value(const boost::json::value& v) noexcept {
  switch (v.kind()) {
    case boost::json::kind::null:
      return mix(tag_null);
    case boost::json::kind::bool_:
      return combine(tag_bool, v.get_bool() ? 1 : 0);
    case boost::json::kind::int64:
      return hash_integer(v.get_int64());
    case boost::json::kind::uint64:
      return hash_unsigned(v.get_uint64());
    case boost::json::kind::double_:
      return hash_double(v.get_double());
    case boost::json::kind::string: {
      const auto& s = v.get_string();
      return combine(tag_string, hash_bytes(std::string_view(s.data(), s.size())));
    }
    case boost::json::kind::array: {
      std::uint64_t h = mix(tag_array);
      for (const auto& e : v.get_array()) h = combine(h, hash_json_value(e));  // ordered
      return h;
    }
    case boost::json::kind::object: {
      // Order-independent: a sum of per-member hashes. The parser keeps the last of duplicate
      // keys, so each key counts once.
      std::uint64_t sum = 0;
      for (const auto& kv : v.get_object()) {
        const auto k = std::string_view(kv.key().data(), kv.key().size());
        sum += combine(hash_bytes(k, tag_object), hash_json_value(kv.value()));
      }
      return combine(tag_object, sum);
    }
  }
  return 0;
}

std::uint64_t key_hash(std::string_view topic, std::string_view event_id) noexcept {
  return hash_bytes(event_id, hash_bytes(topic));
}

}  // namespace agg
